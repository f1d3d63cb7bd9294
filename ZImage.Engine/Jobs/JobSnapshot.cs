using System.Diagnostics.CodeAnalysis;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// <summary>Was running when the process died and was already re-queued once; it will not run again.</summary>
    Interrupted,
}

public static class JobStatusExtensions
{
    public static bool IsFinal(this JobStatus status) => status is not (JobStatus.Queued or JobStatus.Running);
}

/// <summary>Where a running job is: image <see cref="ImageIndex"/> (0-based) of <see cref="ImageCount"/>, step <see cref="Step"/> (1-based) of <see cref="TotalSteps"/>.</summary>
public sealed record JobProgress(int ImageIndex, int ImageCount, int Step, int TotalSteps, PreviewPicture? Preview)
{
    /// <summary>0..1 over all images of the job.</summary>
    public double Fraction => TotalSteps <= 0 || ImageCount <= 0
        ? 0
        : (ImageIndex * TotalSteps + Step) / (double)(ImageCount * TotalSteps);
}

/// <summary>
/// A job as its owner (or an admin) sees it at one moment: its stored record (<see cref="JobRecord.Request"/> carries
/// every parameter with the seed resolved) plus what only exists while it waits or runs.
/// </summary>
public sealed record JobSnapshot : JobRecord
{
    [SetsRequiredMembers]
    public JobSnapshot(JobRecord record) : base(record)
    {
    }

    /// <summary>1-based place in the predicted start order while queued; null otherwise.</summary>
    public int? Position { get; init; }
    /// <summary>Latest step while running (with the latest preview, so a refreshed page re-attaches with a picture).</summary>
    public JobProgress? Progress { get; init; }
    /// <summary>Queued: estimated wait until it starts. Null once running or when nothing is measured yet and no default applies.</summary>
    public TimeSpan? EtaStart { get; init; }
    /// <summary>Queued or running: estimated time until it is done.</summary>
    public TimeSpan? EtaFinish { get; init; }
    /// <summary>Running, before its first step, on a card loading the model for it: the measured cold start; else null.</summary>
    public TimeSpan? ModelLoad { get; init; }
    /// <summary>
    /// The job's event count at this moment (<see cref="JobEvent.Version"/>); <see cref="long.MaxValue"/> for a finished
    /// job read from the store, after which nothing newer can come.
    /// </summary>
    public long Version { get; init; }
    /// <summary>Time spent waiting in the queue (known once started).</summary>
    public TimeSpan? WaitTime => StartedAt - SubmittedAt;
    /// <summary>Time spent running (known once finished).</summary>
    public TimeSpan? RunTime => FinishedAt - StartedAt;
}

/// <summary>
/// One line of the shared queue. Others' jobs are shown as "someone's job, position N":
/// <see cref="Job"/> is null unless <see cref="IsMine"/> (or the caller is an admin), and <see cref="Prompt"/> is there
/// only when the caller may see it (<see cref="Caller.CanSee"/>: theirs, an admin, or an owner who shares).
/// Running jobs come first with <see cref="Position"/> 0. <see cref="Runner"/> says which card (and, with PostgreSQL,
/// which machine) runs a running job, whoever owns it; null for queued jobs and on a one-card box with SQLite.
/// </summary>
public sealed record QueueEntry(int Position, JobStatus Status, bool IsMine, JobSnapshot? Job, TimeSpan? EtaStart)
{
    public string? Prompt { get; init; }
    public JobRunner? Runner { get; init; }
}

/// <summary>
/// Who runs a job: the machine (shown with PostgreSQL, where several processes share the queue) and the card's number.
/// Read back from the worker's name in the shared queue, <c>machine/process/worker/gpuN</c>.
/// </summary>
public sealed record JobRunner(string? Machine, int? Device)
{
    public static string Name(string machine, int process, int worker, int device) => $"{machine}/{process}/{worker}/gpu{device}";

    /// <summary>The machine and card of a worker name; a name without a card (an older process) gives only the machine.</summary>
    public static JobRunner Parse(string worker)
    {
        var parts = worker.Split('/');
        int? device = parts.Length >= 4 && parts[^1].StartsWith("gpu", StringComparison.Ordinal) && int.TryParse(parts[^1].AsSpan(3), out int d) ? d : null;
        return new JobRunner(parts[0], device);
    }
}
