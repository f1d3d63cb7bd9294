using ZImage.Engine.Jobs;
using ZImage.Engine.Models;

namespace ZImage.Web.Ui.Generate;

/// <summary>
/// The engine records why a job failed in English (it has no language). The job card says the known kinds of
/// failure in the person's language; the engine's own sentence stays a detail for those who can fix the cause.
/// </summary>
public static class JobFailureText
{
    /// <summary>The UiText key for a failure reason; unknown reasons get a general sentence.</summary>
    public static string KeyFor(JobStatus status, string? reason) => reason switch
    {
        _ when status == JobStatus.Interrupted => "job.failure.interrupted",
        null => "job.failure.other",
        _ when reason.StartsWith(ModelEntry.UnusablePrefix, StringComparison.Ordinal) => "gen.modelUnusableTitle",
        JobWorker.OutOfMemoryMessage => "job.failure.outOfMemory",
        _ when reason.StartsWith(JobWorker.DiskFullPrefix, StringComparison.Ordinal) => "job.failure.diskFull",
        _ when reason.StartsWith(JobWorker.SaveFailedPrefix, StringComparison.Ordinal) => "job.failure.saveFailed",
        _ when reason.StartsWith(JobWorker.PipelineFailurePrefix, StringComparison.Ordinal) => "job.failure.pipeline",
        _ when reason.StartsWith(JobWorker.CardFaultPrefix, StringComparison.Ordinal) => "job.failure.card",
        _ => "job.failure.other",
    };
}
