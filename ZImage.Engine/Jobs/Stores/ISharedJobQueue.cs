using ZImage.Engine.History;

namespace ZImage.Engine.Jobs;

/// <summary>
/// A store that is also the queue, shared by every process on the database (PostgreSQL): admission computes the fair
/// queue's tags in the store (so all processes agree on the order), workers claim under a lease they renew, and every
/// write that ends a claimed job checks that the writer still holds the lease, so a job taken over after a crash runs
/// to completion once. See docs/scale-out.md.
/// </summary>
public interface ISharedJobQueue
{
    /// <summary>
    /// Inserts a queued job with its fair tags (<c>start = max(V, the user's last finish)</c>, <c>finish = start + cost</c>),
    /// holding the user's row so two processes tag one person's jobs in sequence. Caps count every process's queue.
    /// Throws <see cref="DuplicateIdempotencyKeyException"/> like <see cref="IJobStore.InsertJobAsync"/>.
    /// </summary>
    Task<Admission> AdmitAsync(JobRecord job, int maxQueuedPerUser, int maxQueuedTotal, CancellationToken ct = default);

    /// <summary>
    /// The first queued job in fair order that <paramref name="canStart"/> accepts, not locked by another claim
    /// (<c>FOR UPDATE SKIP LOCKED</c>), marked running for <paramref name="worker"/> until <paramref name="leaseUntil"/>.
    /// Null when there is none.
    /// </summary>
    Task<JobRecord?> ClaimAsync(string worker, DateTimeOffset now, DateTimeOffset leaseUntil, Func<GenerationRequest, bool> canStart, CancellationToken ct = default);

    /// <summary>Extends the lease; <see cref="Lease.Held"/> false when another worker took the job or it ended.</summary>
    Task<Lease> RenewLeaseAsync(string jobId, string worker, DateTimeOffset leaseUntil, CancellationToken ct = default);

    /// <summary>
    /// Running jobs whose lease ran out (their worker died): back in the queue at their old place, once; a job whose
    /// lease runs out a second time is marked interrupted. Returns how many went back.
    /// </summary>
    Task<int> RequeueExpiredAsync(DateTimeOffset now, CancellationToken ct = default);

    /// <summary><see cref="IJobStore.AddImageAsync"/>, only if <paramref name="worker"/> still holds the job; else <see cref="LeaseLostException"/>.</summary>
    Task<long> AddClaimedImageAsync(string jobId, string worker, NewImage image, CancellationToken ct = default);

    /// <summary>Success with its pictures, only if <paramref name="worker"/> still holds the job; else <see cref="LeaseLostException"/>.</summary>
    Task<IReadOnlyList<long>> CompleteClaimedAsync(string jobId, string worker, DateTimeOffset at, string? notice, IReadOnlyList<NewImage> images, TimeSpan gpuTime, CancellationToken ct = default);

    /// <summary>Failed, cancelled or interrupted, only if <paramref name="worker"/> still holds the job. False when it does not.</summary>
    Task<bool> FinishClaimedAsync(string jobId, string worker, JobStatus status, DateTimeOffset at, string? error, string? notice, TimeSpan gpuTime, CancellationToken ct = default);

    /// <summary>Back to queued at its old place without counting a restart (graceful shutdown), if still held.</summary>
    Task ReleaseAsync(string jobId, string worker, CancellationToken ct = default);

    /// <summary>
    /// Back to queued at its old place after <paramref name="worker"/>'s card failed, counting a restart and recording
    /// <paramref name="notice"/> (<see cref="IJobStore.RequeueAfterCardFaultAsync"/>), if still held; false when it is not.
    /// </summary>
    Task<bool> ReleaseAfterCardFaultAsync(string jobId, string worker, string notice, CancellationToken ct = default);

    /// <summary>
    /// Cancels a queued job (its owner's tag rolls back as in <see cref="FairQueue{T}"/>), or asks the worker running it
    /// to stop (it sees the request with its next heartbeat).
    /// </summary>
    Task<SharedCancel> CancelAsync(string jobId, string by, DateTimeOffset at, CancellationToken ct = default);

    /// <summary>Queued jobs ahead of this one in fair order, plus one; null when it is not queued.</summary>
    Task<int?> PositionAsync(string jobId, CancellationToken ct = default);

    Task<(int Queued, int Running)> CountAsync(CancellationToken ct = default);

    /// <summary>Every running job of every process, oldest start first, with its worker and latest step (no preview).</summary>
    Task<IReadOnlyList<RunningJob>> ListRunningAsync(CancellationToken ct = default);

    /// <summary>
    /// The running job's latest step and preview (PNG bytes: never in the signal itself), then a signal to every process.
    /// Ignored once the job is no longer running.
    /// </summary>
    Task SaveProgressAsync(string jobId, JobProgress progress, byte[]? previewPng, CancellationToken ct = default);

    Task<(JobProgress Progress, byte[]? PreviewPng)?> ReadProgressAsync(string jobId, CancellationToken ct = default);

    /// <summary>
    /// Calls <paramref name="onJobSignal"/> with (job id, version) for every change of a job another process signals
    /// (LISTEN/NOTIFY), and <paramref name="onSharingSignal"/> with the name of a person whose choice to share their pictures
    /// another process changed, in the order they were sent, until <paramref name="ct"/> is cancelled. Versions increase
    /// across the whole database. A lost connection is reopened.
    /// </summary>
    Task ListenAsync(Func<string, long, Task> onJobSignal, Func<string, Task> onSharingSignal, CancellationToken ct);
}

/// <summary>
/// A job some worker runs now: its row, the worker holding it (<see cref="JobRunner.Name"/>), its latest step, and its
/// owner's choice to share their pictures (null: never chosen), which decides who sees its prompt in the queue.
/// </summary>
public sealed record RunningJob(JobRecord Job, string Worker, JobProgress? Progress, bool? OwnerShares);

public enum AdmitOutcome { Admitted, UserQueueFull, QueueFull }

public sealed record Admission(AdmitOutcome Outcome, int Count);

/// <summary>The answer to a heartbeat: still ours, and who (if anyone) asked the job to stop.</summary>
public sealed record Lease(bool Held, string? CancelRequestedBy);

public enum SharedCancel { Cancelled, StopRequested, AlreadyFinished, NotFound }

/// <summary>The worker's claim ran out and another worker owns the job now; this run's outcome is not written.</summary>
public sealed class LeaseLostException(string jobId) : Exception($"job {jobId} is no longer held by this worker (its lease ran out and another worker took it)");
