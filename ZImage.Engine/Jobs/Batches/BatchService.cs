using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ZImage.Engine.Jobs.Batches;

public enum BatchStatus
{
    Running,
    /// <summary>Every job ended (some may have failed: see <see cref="BatchSnapshot.Failed"/>).</summary>
    Finished,
    Cancelled,
}

/// <summary>A batch at one moment: counts of its jobs and, per item, the job and pictures made.</summary>
public sealed record BatchSnapshot(string Id, string UserName, string Name, BatchStatus Status, int Total, int Submitted, int Succeeded,
    int Failed, int Cancelled, int Pictures, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt,
    IReadOnlyList<BatchItem> Items, IReadOnlyList<string?> JobIds, IReadOnlyList<IReadOnlyList<long>> ImageIds, IReadOnlyList<string> Errors)
{
    /// <summary>Jobs ended (any outcome) of all jobs: 0..1.</summary>
    public double Fraction => Total == 0 ? 1 : (double)(Succeeded + Failed + Cancelled) / Total;

    /// <summary>Each failed job's line and the engine's reason (English), for a page to word in the person's language.</summary>
    public IReadOnlyList<BatchFailure> Failures { get; init; } = [];

    /// <summary>The counts from the items' states, as stored or as the feeding process holds them.</summary>
    public static BatchSnapshot Of(StoredBatch b)
    {
        var items = b.Items;
        int Count(BatchItemState state) => items.Count(i => i.State == state);
        var failures = items.Where(i => i.State == BatchItemState.Failed && i.Error is not null).Select(i => new BatchFailure(i.Item.Line, i.Error!)).ToList();
        IEnumerable<string> errors = failures.Select(f => $"line {f.Line}: {f.Reason}");
        return new BatchSnapshot(b.Id, b.UserName, b.Name, b.Status, items.Count,
            items.Count(i => i.JobId is not null || i.State == BatchItemState.Failed),
            Count(BatchItemState.Succeeded), Count(BatchItemState.Failed), Count(BatchItemState.Cancelled), items.Sum(i => i.Pictures.Count),
            b.CreatedAt, b.FinishedAt, [.. items.Select(i => i.Item)], [.. items.Select(i => i.JobId)], [.. items.Select(i => i.Pictures)],
            [.. b.Error is null ? errors : errors.Append(b.Error)])
        {
            Failures = failures,
        };
    }
}

/// <summary>A batch job that failed: the list line it came from and the engine's reason.</summary>
public sealed record BatchFailure(int Line, string Reason);

public sealed record BatchSubmitResult(BatchSnapshot? Batch, RefusalKind Refusal, IReadOnlyList<ValidationProblem> Problems)
{
    public bool Accepted => Batch is not null;
}

public interface IBatchService
{
    /// <summary>
    /// Starts a batch. It counts as one queued job against the person's cap: it keeps at most one of its jobs waiting in
    /// the fair queue and puts in the next when that one starts, so another person's job is tagged ahead of it and
    /// starts within its fair share. Refused like a job when the person's queue (or the whole queue) is full.
    /// </summary>
    Task<BatchSubmitResult> SubmitAsync(string name, IReadOnlyList<BatchItem> items, Caller caller, CancellationToken ct = default);

    /// <summary>Null for unknown batches and other people's (admins see all). Any process answers for any batch.</summary>
    Task<BatchSnapshot?> GetAsync(string id, Caller caller, CancellationToken ct = default);

    /// <summary>The caller's batches, newest first (the latest <see cref="BatchService.ListLimit"/>).</summary>
    Task<IReadOnlyList<BatchSnapshot>> ListMineAsync(Caller caller, CancellationToken ct = default);

    /// <summary>Stops feeding, cancels its waiting and running job; items not yet submitted count as cancelled.</summary>
    Task<CancelOutcome> CancelAsync(string id, Caller caller, CancellationToken ct = default);
}

/// <summary>
/// Batches fed into the fair queue one job at a time. Each job is an ordinary stored job, so its pictures, history and
/// usage are recorded as any other. The batch itself (its items, which job each became, how each ended) is written to
/// the store (<see cref="IBatchStore"/>) as it changes, so after a restart <see cref="ResumeAsync"/> (run by
/// <see cref="JobsStartup"/>) picks up every running batch where it stood: its submitted jobs are watched again, the rest
/// is fed as before. A job is submitted under the key <c>batch-{id}-{index}</c>, so an item whose job was made just
/// before a crash, but not yet recorded, gets that same job back, never a second one.
/// With PostgreSQL one process feeds a batch under a lease, renewed on every pass of its loop (which is also when it reads
/// a cancel asked on another process, before submitting anything more); another takes it over when that process stops.
/// </summary>
public sealed class BatchService : IBatchService, IAsyncDisposable
{
    public const int ListLimit = 50;

    private readonly IJobService _jobs;
    private readonly IBatchStore _store;
    private readonly StoreOptions _storeOptions;
    private readonly TimeProvider _clock;
    private readonly ILogger<BatchService> _logger;
    private readonly IDisposable _subscription;
    /// <summary>Batches this process feeds.</summary>
    private readonly ConcurrentDictionary<string, Batch> _batches = new();
    /// <summary>Ended batches as last read: they no longer change.</summary>
    private readonly ConcurrentDictionary<string, BatchSnapshot> _ended = new();
    private readonly CancellationTokenSource _stopping = new();
    /// <summary>This process among the studios sharing the store (process ids repeat across machines).</summary>
    private readonly string _runner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    private Task? _takeOver;
    private int _resumed;

    public BatchService(IJobService jobs, IJobNotifier notifier, IBatchStore store, IOptions<StoreOptions> storeOptions, TimeProvider clock, ILogger<BatchService> logger)
    {
        _jobs = jobs;
        _store = store;
        _storeOptions = storeOptions.Value;
        _clock = clock;
        _logger = logger;
        // Only starts and outcomes matter here; the handler only wakes the batch's own task (handlers must be quick).
        _subscription = notifier.SubscribeAll(e =>
        {
            if (e is not (JobStarted or JobSucceeded or JobFailed or JobCancelled))
                return;
            foreach (var batch in _batches.Values)
            {
                if (batch.Status == BatchStatus.Running && batch.Caller.Owns(e.UserName))
                    batch.Wake();
            }
        });
    }

    private DateTimeOffset LeaseUntil => _clock.GetUtcNow().AddSeconds(_storeOptions.LeaseSeconds);

    public async Task<BatchSubmitResult> SubmitAsync(string name, IReadOnlyList<BatchItem> items, Caller caller, CancellationToken ct = default)
    {
        if (items.Count == 0)
            return new(null, RefusalKind.Invalid, [new("items", "a batch needs at least one prompt.")]);
        if (items.Count > BatchPlan.MaxJobs)
            return new(null, RefusalKind.Invalid, [new("items", $"a batch makes at most {BatchPlan.MaxJobs:N0} jobs (got {items.Count:N0}).")]);
        var batch = new Batch(Guid.NewGuid().ToString("N")[..12], name, caller, [.. items.Select((item, i) => new StoredBatchItem(i, item))],
            _clock.GetUtcNow());
        // The first job is submitted now, so a full queue refuses the batch as it would a job; the batch is stored with it.
        var first = await SubmitNextAsync(batch, initial: true, persist: false, ct);
        if (first is { Accepted: false } refused)
            return new(null, refused.Refusal, refused.Problems);
        await _store.InsertBatchAsync(batch.ToStored(), _runner, LeaseUntil, ct);
        Start(batch);
        return new(batch.Snapshot(), RefusalKind.None, []);
    }

    public async Task<BatchSnapshot?> GetAsync(string id, Caller caller, CancellationToken ct = default)
    {
        var snapshot = await FindAsync(id, ct);
        return snapshot is not null && caller.CanManage(snapshot.UserName) ? snapshot : null;
    }

    public async Task<IReadOnlyList<BatchSnapshot>> ListMineAsync(Caller caller, CancellationToken ct = default)
    {
        var list = new List<BatchSnapshot>();
        foreach (var id in await _store.ListBatchIdsAsync(caller.UserName, ListLimit, ct))
        {
            if (await FindAsync(id, ct) is { } snapshot && caller.Owns(snapshot.UserName))
                list.Add(snapshot);
        }
        return list;
    }

    public async Task<CancelOutcome> CancelAsync(string id, Caller caller, CancellationToken ct = default)
    {
        if (!_batches.TryGetValue(id, out var batch))
            return await CancelElsewhereAsync(id, caller, ct);
        if (!caller.CanManage(batch.Caller.UserName))
            return CancelOutcome.NotAllowed;
        await batch.Gate.WaitAsync(ct);
        try
        {
            if (batch.Status != BatchStatus.Running)
                return CancelOutcome.AlreadyFinished;
            batch.CancelRequested = true;
            // Recorded, so a restart before the batch ends finishes it cancelled.
            await _store.RequestBatchCancelAsync(id, ct);
            foreach (var jobId in batch.Active.Keys.ToList())
                await _jobs.CancelAsync(jobId, caller, ct);
        }
        finally
        {
            batch.Gate.Release();
        }
        batch.Wake();
        return CancelOutcome.Cancelled;
    }

    /// <summary>
    /// Takes over the running batches nobody feeds (at start-up: all of SQLite's, PostgreSQL's whose process let go or
    /// stopped) and feeds them on. With PostgreSQL it looks again every lease, for batches of a process that died.
    /// </summary>
    public async Task ResumeAsync(CancellationToken ct = default)
    {
        if (Interlocked.Exchange(ref _resumed, 1) == 1)
            return;
        await TakeOverAsync(ct);
        if (_storeOptions.IsShared)
            _takeOver = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(_storeOptions.LeaseSeconds), _clock, _stopping.Token);
                        await TakeOverAsync(_stopping.Token);
                    }
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "Looking for batches to take over failed");
                }
            }, CancellationToken.None);
    }

    private async Task TakeOverAsync(CancellationToken ct)
    {
        foreach (var stored in await _store.TakeOverBatchesAsync(_runner, _clock.GetUtcNow(), LeaseUntil, ct))
        {
            if (_batches.ContainsKey(stored.Id))
                continue;
            var batch = Batch.From(stored);
            _logger.LogInformation("Resuming batch {BatchId} of {User}: {Ended} of {Total} jobs ended", stored.Id, stored.UserName,
                stored.Items.Count(i => i.IsEnded), stored.Items.Count);
            Start(batch);
        }
    }

    /// <summary>Stops feeding (the batches stay running in the store) and lets go of them, so the next start takes them over at once.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        var runners = _batches.Values.Select(b => b.Runner).OfType<Task>().Append(_takeOver ?? Task.CompletedTask).ToArray();
        await Task.WhenAll(runners).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var batch in _batches.Values.Where(b => b.Status == BatchStatus.Running))
        {
            try
            {
                await _store.ReleaseBatchAsync(batch.Id, _runner);
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "Could not let go of batch {BatchId}; another process takes it over when its lease runs out", batch.Id);
            }
        }
    }

    private void Start(Batch batch)
    {
        _batches[batch.Id] = batch;
        batch.Runner = Task.Run(() => RunAsync(batch), CancellationToken.None);
    }

    private async Task<BatchSnapshot?> FindAsync(string id, CancellationToken ct)
    {
        if (_batches.TryGetValue(id, out var batch))
            return batch.Snapshot();
        if (_ended.TryGetValue(id, out var ended))
            return ended;
        if (await _store.GetBatchAsync(id, ct) is not { } stored)
            return null;
        var snapshot = Batch.From(stored).Snapshot();
        if (snapshot.Status != BatchStatus.Running)
            _ended[id] = snapshot;
        return snapshot;
    }

    /// <summary>A batch this process does not feed: the request is recorded for its feeder, and its jobs are cancelled from here.</summary>
    private async Task<CancelOutcome> CancelElsewhereAsync(string id, Caller caller, CancellationToken ct)
    {
        if (await _store.GetBatchAsync(id, ct) is not { } stored)
            return CancelOutcome.NotFound;
        if (!caller.CanManage(stored.UserName))
            return CancelOutcome.NotAllowed;
        if (stored.Status != BatchStatus.Running || !await _store.RequestBatchCancelAsync(id, ct))
            return CancelOutcome.AlreadyFinished;
        // Read again after the request is stored: the feeder checks it before each submission, so a job it submitted
        // just before is listed here, and one it submits after cannot be (it cancels its own at its next pass).
        foreach (var item in (await _store.GetBatchAsync(id, ct))!.Items.Where(i => i.State == BatchItemState.Submitted))
            await _jobs.CancelAsync(item.JobId!, caller, ct);
        return CancelOutcome.Cancelled;
    }

    /// <summary>The batch's own loop: on every wake, read its jobs' states, feed the next job, finish when all ended.</summary>
    private async Task RunAsync(Batch batch)
    {
        var stop = _stopping.Token;
        try
        {
            while (true)
            {
                await batch.Gate.WaitAsync(stop);
                try
                {
                    // Every pass (each start or end of the person's jobs, and at least once a second) renews the lease and
                    // reads a cancel asked on another process, before anything more is submitted.
                    if (_storeOptions.IsShared)
                    {
                        var lease = await _store.RenewBatchAsync(batch.Id, _runner, LeaseUntil, stop);
                        if (!lease.Held)
                        {
                            // Too slow to renew: another process took the batch over and feeds it now.
                            _batches.TryRemove(batch.Id, out _);
                            return;
                        }
                        if (lease.CancelRequested && !batch.CancelRequested)
                        {
                            batch.CancelRequested = true;
                            foreach (var jobId in batch.Active.Keys.ToList())
                                await _jobs.CancelAsync(jobId, batch.Caller, stop);
                        }
                    }
                    await ReconcileAsync(batch, stop);
                    if (!batch.CancelRequested)
                        await FeedAsync(batch, stop);
                    if (batch.Active.IsEmpty && (batch.CancelRequested || batch.Next >= batch.Count))
                    {
                        await FinishAsync(batch, error: null);
                        return;
                    }
                }
                finally
                {
                    batch.Gate.Release();
                }
                // Also re-check now and then: a refusal for a full queue waits for the person's next job to end.
                await batch.WaitAsync(TimeSpan.FromSeconds(1), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down: the batch stays running in the store and the next start takes it over.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Batch {BatchId} of {User} stopped", batch.Id, batch.Caller.UserName);
            await FinishAsync(batch, $"The batch stopped: {e.Message}");
        }
    }

    private async Task FinishAsync(Batch batch, string? error)
    {
        var snapshot = batch.Finish(_clock.GetUtcNow(), error);
        try
        {
            await _store.FinishBatchAsync(batch.Id, snapshot.Status, snapshot.FinishedAt!.Value, error);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Batch {BatchId} ended but could not be recorded; it is resumed and ended again at the next start", batch.Id);
        }
        _ended[batch.Id] = snapshot;
        _batches.TryRemove(batch.Id, out _);
    }

    private async Task ReconcileAsync(Batch batch, CancellationToken ct)
    {
        foreach (var (jobId, index) in batch.Active.ToList())
        {
            var job = await _jobs.GetAsync(jobId, batch.Caller, ct);
            if (job is null || !job.Status.IsFinal())
            {
                if (job?.Status == JobStatus.Running && batch.Waiting == jobId)
                    batch.Waiting = null;
                continue;
            }
            var item = batch.Item(index);
            var ended = job.Status switch
            {
                JobStatus.Succeeded => item with { State = BatchItemState.Succeeded, ImageIds = job.ImageIds },
                JobStatus.Cancelled => item with { State = BatchItemState.Cancelled },
                _ => item with { State = BatchItemState.Failed, Error = job.Error },
            };
            await _store.SaveBatchItemAsync(batch.Id, ended, ct);
            batch.Set(ended);
            batch.Active.TryRemove(jobId, out _);
            if (batch.Waiting == jobId)
                batch.Waiting = null;
        }
    }

    private async Task FeedAsync(Batch batch, CancellationToken ct)
    {
        while (batch.Waiting is null && batch.Next < batch.Count)
        {
            var result = await SubmitNextAsync(batch, initial: false, persist: true, ct);
            if (result is { Accepted: false, Refusal: RefusalKind.UserQueueFull or RefusalKind.QueueFull or RefusalKind.ShuttingDown })
                return;
        }
    }

    /// <summary>
    /// Submits item <see cref="Batch.Next"/>; a job the engine refuses for itself (too large, invalid) is counted failed,
    /// except for the first one of a new batch, whose refusal refuses the batch.
    /// </summary>
    private async Task<SubmitResult?> SubmitNextAsync(Batch batch, bool initial, bool persist, CancellationToken ct)
    {
        var item = batch.Item(batch.Next);
        var result = await _jobs.SubmitAsync(new JobRequest
        {
            Settings = item.Item.Settings,
            SeedPolicy = item.Item.SeedPolicy,
            IdempotencyKey = $"batch-{batch.Id}-{item.Index}",
        }, batch.Caller, ct);
        StoredBatchItem? changed = null;
        if (result.Accepted)
        {
            changed = item with { State = BatchItemState.Submitted, JobId = result.Job!.Id };
            batch.Active[result.Job.Id] = item.Index;
            batch.Waiting = result.Job.Status == JobStatus.Queued ? result.Job.Id : null;
        }
        else if (result.Refusal is RefusalKind.Invalid or RefusalKind.TooLargeForGpu && !initial)
            changed = item with { State = BatchItemState.Failed, Error = string.Join(" ", result.Problems.Select(p => p.Message)) };
        if (changed is not null)
        {
            if (persist)
                await _store.SaveBatchItemAsync(batch.Id, changed, ct);
            batch.Set(changed);
            batch.Next++;
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        await StopAsync();
    }

    /// <summary>One batch this process feeds. Items change under <see cref="Gate"/>, by the batch's own loop (and cancel).</summary>
    private sealed class Batch(string id, string name, Caller caller, StoredBatchItem[] items, DateTimeOffset createdAt)
    {
        private readonly SemaphoreSlim _wake = new(0, 1);
        private readonly Lock _items = new();

        public string Id { get; } = id;
        public string Name { get; } = name;
        public Caller Caller { get; } = caller;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public Task? Runner { get; set; }
        public int Count => items.Length;
        /// <summary>The next item to submit: items go in order, so every one before it has a job or failed.</summary>
        public int Next;
        public string? Waiting;
        public readonly ConcurrentDictionary<string, int> Active = new();
        public volatile bool CancelRequested;
        public volatile BatchStatus Status = BatchStatus.Running;
        public DateTimeOffset? FinishedAt;
        public string? Error;

        /// <summary>A stored batch picked up again: its submitted jobs are watched, the first pending item is next.</summary>
        public static Batch From(StoredBatch stored)
        {
            var batch = new Batch(stored.Id, stored.Name, new Caller(stored.UserName), [.. stored.Items], stored.CreatedAt)
            {
                CancelRequested = stored.CancelRequested,
                Status = stored.Status,
                FinishedAt = stored.FinishedAt,
                Error = stored.Error,
            };
            batch.Next = stored.Items.TakeWhile(i => i.State != BatchItemState.Pending).Count();
            foreach (var item in stored.Items.Where(i => i.State == BatchItemState.Submitted))
                batch.Active[item.JobId!] = item.Index;
            // Which of them still waits is read on the first pass (a running one stops being "waiting").
            batch.Waiting = stored.Items.LastOrDefault(i => i.State == BatchItemState.Submitted)?.JobId;
            return batch;
        }

        public StoredBatchItem Item(int index)
        {
            lock (_items)
                return items[index];
        }

        public void Set(StoredBatchItem item)
        {
            lock (_items)
                items[item.Index] = item;
        }

        public StoredBatch ToStored()
        {
            lock (_items)
                return new StoredBatch(Id, Caller.UserName, Name, Status, CancelRequested, CreatedAt, FinishedAt, Error, [.. items]);
        }

        public void Wake()
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken; one pass reads every job.
            }
        }

        public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _wake.WaitAsync(timeout, ct);

        public BatchSnapshot Finish(DateTimeOffset at, string? error)
        {
            lock (_items)
            {
                for (int i = 0; i < items.Length; i++)
                {
                    if (items[i].State == BatchItemState.Pending)
                        items[i] = items[i] with { State = BatchItemState.Cancelled };
                }
                FinishedAt = at;
                Error = error;
                Status = CancelRequested ? BatchStatus.Cancelled : BatchStatus.Finished;
            }
            return Snapshot();
        }

        public BatchSnapshot Snapshot() => BatchSnapshot.Of(ToStored());
    }
}
