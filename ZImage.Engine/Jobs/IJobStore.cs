using ZImage.Engine.History;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Durable jobs. Their pictures are <see cref="IPictureStore"/>'s and the measured timings <see cref="ITimingStore"/>'s;
/// one SQLite file holds all three (<see cref="SqliteJobStore"/>), so a job's success and its pictures' rows commit together. The queue's order lives in <see cref="FairQueue{T}"/>,
/// not here, so another store (PostgreSQL shared by several GPU boxes, see docs/jobs.md) slots in
/// behind this interface. Implementations are thread-safe.
/// </summary>
public interface IJobStore : IAsyncDisposable
{
    /// <summary>Creates or migrates the schema. Call once before anything else.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>
    /// After a restart: a job found running was interrupted by the crash; it is re-queued once
    /// (<see cref="JobRecord.Restarts"/> becomes 1) and marked <see cref="JobStatus.Interrupted"/> if it
    /// happens again. Returns every queued job in submission order.
    /// </summary>
    Task<IReadOnlyList<JobRecord>> RecoverAsync(DateTimeOffset now, CancellationToken ct = default);

    /// <summary>Throws <see cref="DuplicateIdempotencyKeyException"/> when the user already used the key.</summary>
    Task InsertJobAsync(JobRecord job, CancellationToken ct = default);

    Task<JobRecord?> FindByIdempotencyKeyAsync(string userName, string key, DateTimeOffset notBefore, CancellationToken ct = default);

    Task<JobRecord?> GetJobAsync(string jobId, CancellationToken ct = default);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsAsync(string userName, int limit, CancellationToken ct = default);

    Task MarkStartedAsync(string jobId, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>Back to queued without counting a restart (graceful shutdown mid-run).</summary>
    Task RequeueAsync(string jobId, CancellationToken ct = default);

    /// <summary>
    /// Back to queued after the card running it failed: counts a restart (the same <see cref="JobRecord.Restarts"/> a
    /// crash counts, so one limit bounds every re-run) and records <paramref name="notice"/>. Only a running job.
    /// </summary>
    Task RequeueAfterCardFaultAsync(string jobId, string notice, CancellationToken ct = default);

    /// <summary>
    /// One finished picture of a running job, recorded while the job goes on, so History and the job's watchers see it
    /// before the job ends. The file must already exist: a row never points at a file that is not there. A row the job
    /// already has at that index (an earlier run of it, stopped by a restart) is replaced. Returns the picture's id.
    /// </summary>
    Task<long> AddImageAsync(string jobId, NewImage image, CancellationToken ct = default);

    /// <summary>
    /// Marks the job succeeded and inserts <paramref name="images"/> (those not added one by one with
    /// <see cref="AddImageAsync"/>) in one transaction. The files must already exist. Returns the ids of all the job's
    /// pictures in index order.
    /// </summary>
    /// <paramref name="gpuTime"/>: how long the worker held the pipeline for this job (<see cref="JobRecord.GpuTime"/>).
    Task<IReadOnlyList<long>> CompleteJobAsync(string jobId, DateTimeOffset at, string? notice, IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct = default);

    /// <summary>Failed, cancelled or interrupted; <paramref name="gpuTime"/> as for <see cref="CompleteJobAsync"/> (zero if it never ran).</summary>
    Task FinishJobAsync(string jobId, JobStatus status, DateTimeOffset at, string? error, string? notice, TimeSpan gpuTime, CancellationToken ct = default);

    /// <summary>
    /// Per person and per day (UTC date of the job's end): jobs ended, pictures made and GPU time, for jobs that ended
    /// in [<paramref name="from"/>, <paramref name="to"/>); one person when <paramref name="userName"/> is set.
    /// Ordered by day, then name.
    /// </summary>
    Task<IReadOnlyList<UsageDay>> QueryUsageAsync(DateTimeOffset from, DateTimeOffset to, string? userName, CancellationToken ct = default);
}

/// <summary>
/// A job as stored. <see cref="Request"/> has the resolved seed. <see cref="Error"/>: failed, cancelled or interrupted,
/// a sentence a designer can read. <see cref="Notice"/>: something to know that is not an error, e.g. "retried one
/// image at a time". <see cref="JobSnapshot"/> adds what only exists while the job waits or runs.
/// </summary>
public record JobRecord
{
    public required string Id { get; init; }
    public required string UserName { get; init; }
    public required JobStatus Status { get; init; }
    public required GenerationRequest Request { get; init; }
    public SeedPolicy SeedPolicy { get; init; }
    public string? IdempotencyKey { get; init; }
    public required DateTimeOffset SubmittedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? Error { get; init; }
    public string? Notice { get; init; }
    public int Restarts { get; init; }
    public IReadOnlyList<long> ImageIds { get; init; } = [];
    /// <summary>How long the worker held the pipeline for this job (the GPU time it is billed for); zero until it ends.</summary>
    public TimeSpan GpuTime { get; init; }
}

/// <summary>What this box measured per size and guidance, for ETAs (<see cref="EtaEstimator"/>).</summary>
public interface ITimingStore
{
    Task<IReadOnlyList<StepTiming>> LoadStepTimingsAsync(CancellationToken ct = default);

    Task SaveStepTimingAsync(StepTiming timing, CancellationToken ct = default);
}

/// <summary>Measured cost of a size on this box: seconds per denoising step, and the rest of an image (text encoder, VAE, saving).</summary>
public sealed record StepTiming(int Width, int Height, bool Guided, int Samples, double SecondsPerStep, double FixedSecondsPerImage);

public sealed class DuplicateIdempotencyKeyException(string key) : Exception($"idempotency key '{key}' was already used");
