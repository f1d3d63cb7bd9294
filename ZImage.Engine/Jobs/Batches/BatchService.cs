using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

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
}

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

    /// <summary>Null for unknown batches and other people's (admins see all).</summary>
    BatchSnapshot? Get(string id, Caller caller);

    IReadOnlyList<BatchSnapshot> ListMine(Caller caller);

    /// <summary>Stops feeding, cancels its waiting and running job; items not yet submitted count as cancelled.</summary>
    Task<CancelOutcome> CancelAsync(string id, Caller caller, CancellationToken ct = default);
}

/// <summary>
/// Batches in memory, fed into the fair queue one job at a time. Each job is an ordinary stored job, so its pictures,
/// history and usage are recorded as any other; the batch itself (which jobs belong together) lives until restart.
/// </summary>
public sealed class BatchService : IBatchService, IDisposable
{
    private readonly IJobService _jobs;
    private readonly TimeProvider _clock;
    private readonly ILogger<BatchService> _logger;
    private readonly IDisposable _subscription;
    private readonly ConcurrentDictionary<string, Batch> _batches = new();

    public BatchService(IJobService jobs, IJobNotifier notifier, TimeProvider clock, ILogger<BatchService> logger)
    {
        _jobs = jobs;
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

    public async Task<BatchSubmitResult> SubmitAsync(string name, IReadOnlyList<BatchItem> items, Caller caller, CancellationToken ct = default)
    {
        if (items.Count == 0)
            return new(null, RefusalKind.Invalid, [new("items", "a batch needs at least one prompt.")]);
        if (items.Count > BatchPlan.MaxJobs)
            return new(null, RefusalKind.Invalid, [new("items", $"a batch makes at most {BatchPlan.MaxJobs:N0} jobs (got {items.Count:N0}).")]);
        var batch = new Batch(Guid.NewGuid().ToString("N")[..12], name, caller, items, _clock.GetUtcNow());
        // The first job is submitted now, so a full queue refuses the batch as it would a job.
        var first = await SubmitNextAsync(batch, ct);
        if (first is { Accepted: false } refused)
            return new(null, refused.Refusal, refused.Problems);
        _batches[batch.Id] = batch;
        batch.Runner = Task.Run(() => RunAsync(batch), CancellationToken.None);
        return new(batch.Snapshot(), RefusalKind.None, []);
    }

    public BatchSnapshot? Get(string id, Caller caller) =>
        _batches.TryGetValue(id, out var b) && caller.CanManage(b.Caller.UserName) ? b.Snapshot() : null;

    public IReadOnlyList<BatchSnapshot> ListMine(Caller caller) =>
        [.. _batches.Values.Where(b => caller.Owns(b.Caller.UserName)).OrderByDescending(b => b.CreatedAt).Select(b => b.Snapshot())];

    public async Task<CancelOutcome> CancelAsync(string id, Caller caller, CancellationToken ct = default)
    {
        if (!_batches.TryGetValue(id, out var batch))
            return CancelOutcome.NotFound;
        if (!caller.CanManage(batch.Caller.UserName))
            return CancelOutcome.NotAllowed;
        await batch.Gate.WaitAsync(ct);
        try
        {
            if (batch.Status != BatchStatus.Running)
                return CancelOutcome.AlreadyFinished;
            batch.CancelRequested = true;
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

    /// <summary>The batch's own loop: on every wake, read its jobs' states, feed the next job, finish when all ended.</summary>
    private async Task RunAsync(Batch batch)
    {
        try
        {
            while (true)
            {
                await batch.Gate.WaitAsync();
                try
                {
                    await ReconcileAsync(batch);
                    if (!batch.CancelRequested)
                        await FeedAsync(batch);
                    if (batch.Active.IsEmpty && (batch.CancelRequested || batch.Next >= batch.Items.Count))
                    {
                        batch.Finish(_clock.GetUtcNow());
                        return;
                    }
                }
                finally
                {
                    batch.Gate.Release();
                }
                // Also re-check now and then: a refusal for a full queue waits for the person's next job to end.
                await batch.WaitAsync(TimeSpan.FromSeconds(1));
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Batch {BatchId} of {User} stopped", batch.Id, batch.Caller.UserName);
            batch.AddError($"The batch stopped: {e.Message}");
            batch.Finish(_clock.GetUtcNow());
        }
    }

    private async Task ReconcileAsync(Batch batch)
    {
        foreach (var (jobId, index) in batch.Active.ToList())
        {
            var job = await _jobs.GetAsync(jobId, batch.Caller);
            if (job is null || !job.Status.IsFinal())
            {
                if (job?.Status == JobStatus.Running && batch.Waiting == jobId)
                    batch.Waiting = null;
                continue;
            }
            batch.Active.TryRemove(jobId, out _);
            if (batch.Waiting == jobId)
                batch.Waiting = null;
            switch (job.Status)
            {
                case JobStatus.Succeeded:
                    batch.Succeeded++;
                    batch.ImageIds[index] = job.ImageIds;
                    break;
                case JobStatus.Cancelled:
                    batch.Cancelled++;
                    break;
                default:
                    batch.Failed++;
                    batch.AddError($"line {batch.Items[index].Line}: {job.Error}");
                    break;
            }
        }
    }

    private async Task FeedAsync(Batch batch)
    {
        while (batch.Waiting is null && batch.Next < batch.Items.Count)
        {
            var result = await SubmitNextAsync(batch, CancellationToken.None);
            if (result is { Accepted: false, Refusal: RefusalKind.UserQueueFull or RefusalKind.QueueFull or RefusalKind.ShuttingDown })
                return;
        }
    }

    /// <summary>Submits item <see cref="Batch.Next"/>; a job the engine refuses for itself (too large, invalid) is counted failed.</summary>
    private async Task<SubmitResult?> SubmitNextAsync(Batch batch, CancellationToken ct)
    {
        int index = batch.Next;
        var item = batch.Items[index];
        var result = await _jobs.SubmitAsync(new JobRequest
        {
            Settings = item.Settings,
            SeedPolicy = item.SeedPolicy,
            IdempotencyKey = $"batch-{batch.Id}-{index}",
        }, batch.Caller, ct);
        if (result.Accepted)
        {
            batch.JobIds[index] = result.Job!.Id;
            batch.Active[result.Job.Id] = index;
            batch.Waiting = result.Job.Status == JobStatus.Queued ? result.Job.Id : null;
            batch.Next++;
        }
        else if (result.Refusal is RefusalKind.Invalid or RefusalKind.TooLargeForGpu && index > 0)
        {
            batch.Failed++;
            batch.AddError($"line {item.Line}: {string.Join(" ", result.Problems.Select(p => p.Message))}");
            batch.Next++;
        }
        return result;
    }

    public void Dispose() => _subscription.Dispose();

    private sealed class Batch(string id, string name, Caller caller, IReadOnlyList<BatchItem> items, DateTimeOffset createdAt)
    {
        private readonly SemaphoreSlim _wake = new(0, 1);

        public string Id { get; } = id;
        public string Name { get; } = name;
        public Caller Caller { get; } = caller;
        public IReadOnlyList<BatchItem> Items { get; } = items;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public Task? Runner { get; set; }
        public int Next;
        public string? Waiting;
        public readonly ConcurrentDictionary<string, int> Active = new();
        public readonly string?[] JobIds = new string?[items.Count];
        public readonly IReadOnlyList<long>[] ImageIds = Enumerable.Repeat<IReadOnlyList<long>>([], items.Count).ToArray();
        public readonly List<string> Errors = [];
        public int Succeeded, Failed, Cancelled;
        public volatile bool CancelRequested;
        public volatile BatchStatus Status = BatchStatus.Running;
        public DateTimeOffset? FinishedAt;

        public void AddError(string error)
        {
            lock (Errors)
                Errors.Add(error);
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

        public Task WaitAsync(TimeSpan timeout) => _wake.WaitAsync(timeout);

        public void Finish(DateTimeOffset at)
        {
            FinishedAt = at;
            if (CancelRequested)
                Cancelled += Items.Count - Next;
            Status = CancelRequested ? BatchStatus.Cancelled : BatchStatus.Finished;
        }

        public BatchSnapshot Snapshot()
        {
            lock (Errors)
            {
                return new BatchSnapshot(Id, Caller.UserName, Name, Status, Items.Count, Next, Succeeded, Failed, Cancelled,
                    ImageIds.Sum(i => i.Count), CreatedAt, FinishedAt, Items, [.. JobIds], [.. ImageIds], [.. Errors]);
            }
        }
    }
}
