using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>The one facade the UI and the HTTP API use for jobs. Thread-safe; register as a singleton.</summary>
public interface IJobService
{
    /// <summary>
    /// Validates, checks the caller's cap and GPU memory, resolves the seed, stores the job and queues it.
    /// Never throws for bad input: a refusal names the field and what is allowed.
    /// </summary>
    Task<SubmitResult> SubmitAsync(JobRequest request, Caller caller, CancellationToken ct = default);

    /// <summary>The job if the caller owns it or is an admin; null otherwise (unknown and foreign look the same).</summary>
    Task<JobSnapshot?> GetAsync(string jobId, Caller caller, CancellationToken ct = default);

    /// <summary>Running then queued jobs in predicted start order; others' entries without details.</summary>
    IReadOnlyList<QueueEntry> ListQueue(Caller caller);

    /// <summary>The caller's own jobs, newest first, unfinished and recent finished ones (for re-attaching after a refresh).</summary>
    Task<IReadOnlyList<JobSnapshot>> ListMineAsync(Caller caller, int limit = 50, CancellationToken ct = default);

    /// <summary>Cancels a queued job at once or stops a running one within one denoising step. Owners and admins only.</summary>
    Task<CancelOutcome> CancelAsync(string jobId, Caller caller, CancellationToken ct = default);

    /// <summary>
    /// One job as it goes: its snapshot first, then every newer event, ending after the final one (at once when the job
    /// is already final). Empty for a job the caller may not see. Events are handed over on the publishing thread and
    /// everything else runs on the caller's own task; a watcher that falls behind skips steps, never outcomes.
    /// </summary>
    IAsyncEnumerable<JobUpdate> WatchJobAsync(string jobId, Caller caller, CancellationToken ct = default);

    /// <summary>The caller's jobs as they go: snapshots of their latest jobs first, then every newer event of any of their jobs, until cancelled.</summary>
    IAsyncEnumerable<JobUpdate> WatchMineAsync(Caller caller, CancellationToken ct = default);
}

public enum RefusalKind
{
    None,
    /// <summary>A field is out of range (HTTP 400).</summary>
    Invalid,
    /// <summary>The caller already has the maximum number of queued jobs (HTTP 429).</summary>
    UserQueueFull,
    /// <summary>The whole queue is at capacity (HTTP 429/503).</summary>
    QueueFull,
    /// <summary>The job can never fit in this GPU's memory (HTTP 413).</summary>
    TooLargeForGpu,
    /// <summary>The service is stopping (HTTP 503).</summary>
    ShuttingDown,
    /// <summary>The idempotency key was used before for a different request (HTTP 422).</summary>
    IdempotencyKeyReused,
}

/// <summary>
/// Either an accepted job (<see cref="Job"/> set, <see cref="Refusal"/> None) or a refusal with
/// problems naming fields. <see cref="Repeated"/> is true when an idempotency key matched an earlier job.
/// </summary>
public sealed record SubmitResult(JobSnapshot? Job, RefusalKind Refusal, IReadOnlyList<ValidationProblem> Problems, bool Repeated = false)
{
    public bool Accepted => Job is not null;

    /// <summary>All problems as one readable paragraph.</summary>
    public string Message => string.Join(" ", Problems.Select(p => p.Message));

    public static SubmitResult Ok(JobSnapshot job, bool repeated = false) => new(job, RefusalKind.None, [], repeated);

    public static SubmitResult Refuse(RefusalKind kind, string field, string message) => new(null, kind, [new ValidationProblem(field, message)]);
}

public enum CancelOutcome
{
    Cancelled,
    /// <summary>Cancellation was requested for a running job; the Cancelled event follows within one step.</summary>
    Stopping,
    NotFound,
    NotAllowed,
    AlreadyFinished,
}
