namespace ZImage.Engine.Jobs.Batches;

/// <summary>Where one item of a batch stands. An item goes Pending → Submitted (its job exists) → an outcome.</summary>
public enum BatchItemState
{
    Pending,
    Submitted,
    Succeeded,
    Failed,
    /// <summary>Its job was cancelled, or the batch was cancelled before the item was submitted (no job).</summary>
    Cancelled,
}

/// <summary>An item with its state: the job made for it (once submitted), its pictures (once it succeeded), why it failed.</summary>
public sealed record StoredBatchItem(int Index, BatchItem Item, BatchItemState State = BatchItemState.Pending, string? JobId = null,
    IReadOnlyList<long>? ImageIds = null, string? Error = null)
{
    public IReadOnlyList<long> Pictures => ImageIds ?? [];

    public bool IsEnded => State is BatchItemState.Succeeded or BatchItemState.Failed or BatchItemState.Cancelled;
}

/// <summary>A batch as stored: its definition, every item's state, and whether someone asked to cancel it.</summary>
public sealed record StoredBatch(string Id, string UserName, string Name, BatchStatus Status, bool CancelRequested, DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt, string? Error, IReadOnlyList<StoredBatchItem> Items);

/// <summary><see cref="Held"/>: this process still feeds the batch; <see cref="CancelRequested"/>: someone (any process) cancelled it.</summary>
public readonly record struct BatchLease(bool Held, bool CancelRequested);

/// <summary>
/// Batches in the jobs' database (both stores, <see cref="StoreSchema"/>), so a restart finishes them. One process feeds a
/// batch at a time (its runner, under a lease renewed while it feeds); with SQLite there is one process, so at start-up
/// every running batch is its own again.
/// </summary>
public interface IBatchStore
{
    /// <summary>The batch and all its items, in one transaction, held by <paramref name="runner"/>.</summary>
    Task InsertBatchAsync(StoredBatch batch, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default);

    Task SaveBatchItemAsync(string batchId, StoredBatchItem item, CancellationToken ct = default);

    Task FinishBatchAsync(string batchId, BatchStatus status, DateTimeOffset at, string? error, CancellationToken ct = default);

    /// <summary>Marks a running batch cancelled-on-request; false when it is unknown or ended.</summary>
    Task<bool> RequestBatchCancelAsync(string batchId, CancellationToken ct = default);

    Task<StoredBatch?> GetBatchAsync(string batchId, CancellationToken ct = default);

    /// <summary>Ids of a person's batches, newest first.</summary>
    Task<IReadOnlyList<string>> ListBatchIdsAsync(string userName, int limit, CancellationToken ct = default);

    /// <summary>
    /// Running batches nobody feeds, now held by <paramref name="runner"/>: with SQLite every running batch (the process
    /// that fed them is this one's predecessor); with PostgreSQL those whose runner let go or whose lease ran out.
    /// </summary>
    Task<IReadOnlyList<StoredBatch>> TakeOverBatchesAsync(string runner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct = default);

    Task<BatchLease> RenewBatchAsync(string batchId, string runner, DateTimeOffset leaseUntil, CancellationToken ct = default);

    /// <summary>Lets go of a batch still running (shutdown), so the next process takes it over at once.</summary>
    Task ReleaseBatchAsync(string batchId, string runner, CancellationToken ct = default);
}
