using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The queue: admission (validation, caps, GPU memory), fair order, cancellation, positions and ETAs.
/// Workers take jobs from here; the store keeps every change durable before it is announced.
/// One lock guards the in-memory queue; store calls and event delivery happen outside it.
/// </summary>
public sealed class JobService : IJobService
{
    private readonly IJobStore _store;
    private readonly IPictureStore _pictures;
    private readonly ITimingStore _timings;
    private readonly JobNotifier _notifier;
    // The cards this process drives: worker i runs on card i % count, each with its own guard and pipeline.
    private readonly GpuCards _cards;
    private readonly EtaEstimator _eta;
    private readonly ImageFiles _files;
    private readonly PictureSharing _sharing;
    private readonly IOptionsMonitor<JobsOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ISeedSource _seeds;
    private readonly ILogger<JobService> _logger;
    private readonly StoreOptions _storeOptions;
    // Set when the store is the queue (PostgreSQL): jobs wait in the database, not in _queue, and workers claim them.
    private readonly ISharedJobQueue? _shared;

    private readonly object _gate = new();
    private readonly FairQueue<JobState> _queue = new();
    private readonly Dictionary<string, JobState> _active = new(StringComparer.Ordinal);
    private readonly List<JobState> _running = [];
    // Not a Channel: fair order needs the whole waiting set (and passing over held jobs), so the
    // queue is a FairQueue under a lock, bounded by MaxQueuedTotal, and workers wait on a semaphore.
    // Serialises admission so the idempotency check, the caps and the insert see one consistent queue.
    private readonly SemaphoreSlim _admission = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly Lazy<Task> _initialized;
    private volatile bool _stopping;

    private long _succeeded, _failed, _cancelled, _outOfMemory;
    private readonly ConcurrentDictionary<string, long> _imagesByUser = new(Caller.NameComparer);
    private readonly ConcurrentDictionary<string, double> _gpuSecondsByUser = new(Caller.NameComparer);

    public JobService(IJobStore store, IPictureStore pictures, ITimingStore timings, JobNotifier notifier, GpuCards cards, EtaEstimator eta, ImageFiles files, PictureSharing sharing,
        IOptionsMonitor<JobsOptions> options, TimeProvider clock, ISeedSource seeds, ILogger<JobService> logger, IOptions<StoreOptions> storeOptions)
    {
        _storeOptions = storeOptions.Value;
        _shared = store as ISharedJobQueue;
        _store = store;
        _pictures = pictures;
        _timings = timings;
        _notifier = notifier;
        _cards = cards;
        _eta = eta;
        _files = files;
        _sharing = sharing;
        _options = options;
        _clock = clock;
        _seeds = seeds;
        _logger = logger;
        _initialized = new Lazy<Task>(InitializeCoreAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    internal ReconcileReport? LastReconcile { get; private set; }

    /// <summary>
    /// Schema, crash recovery, file reconciliation and measured timings; once, before the first job. Only
    /// <see cref="JobsStartup"/> calls it: every other member assumes it has run.
    /// </summary>
    internal Task StartUpAsync() => _initialized.Value;

    private async Task InitializeCoreAsync()
    {
        await _store.InitializeAsync();
        var queued = await _store.RecoverAsync(_clock.GetUtcNow());
        // Shared: another process may be between writing a picture and committing its row, and an unreachable shared
        // folder would look like every file missing; nothing is deleted at start-up (docs/scale-out.md).
        if (_shared is null)
            LastReconcile = await _files.ReconcileAsync(_pictures, CancellationToken.None);
        if (LastReconcile is { RowsWithoutFile: > 0 } or { FilesWithoutRow: > 0 })
            _logger.LogWarning("Start-up reconciliation removed {Rows} image rows without a file and {Files} files without a row",
                LastReconcile.RowsWithoutFile, LastReconcile.FilesWithoutRow);
        _eta.Load(await _timings.LoadStepTimingsAsync());
        // The queue shows a waiting prompt to others only when its owner shares (ListQueue reads the last known choice).
        foreach (var owner in queued.Select(r => r.UserName).Distinct(Caller.NameComparer))
            await _sharing.ReadAsync(owner);
        lock (_gate)
        {
            foreach (var record in queued)
            {
                var state = new JobState(record);
                _active[state.Id] = state;
                _queue.Enqueue(state, state.UserName, state.Request.Cost);
            }
        }
        if (queued.Count > 0)
            _logger.LogInformation("Restored {Count} queued jobs", queued.Count);
        WakeWorkers();
    }

    public async Task<SubmitResult> SubmitAsync(JobRequest request, Caller caller, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        if (_stopping)
            return SubmitResult.Refuse(RefusalKind.ShuttingDown, "queue", "The server is shutting down; please try again in a minute.");
        if (string.IsNullOrWhiteSpace(caller.UserName))
            return SubmitResult.Refuse(RefusalKind.Invalid, "user", "A user name is required to queue a job.");
        ArgumentNullException.ThrowIfNull(request.Settings);

        var generation = request.SeedPolicy == SeedPolicy.Fixed
            ? request.Settings
            : request.Settings with { Seed = _seeds.NextSeed() };
        var problems = generation.Validate();
        if (problems.Count > 0)
            return new SubmitResult(null, RefusalKind.Invalid, problems);
        if (NeverFitsAnyCard(generation) is { } tooBig)
            return SubmitResult.Refuse(RefusalKind.TooLargeForGpu, "size", tooBig);

        // The queue shows this job's prompt to others only if its owner shares: the choice as stored now.
        await _sharing.ReadAsync(caller.UserName, ct);
        string? key = string.IsNullOrWhiteSpace(request.IdempotencyKey) ? null : request.IdempotencyKey.Trim();
        JobState state;
        await _admission.WaitAsync(ct);
        try
        {
            if (key is not null && await FindRepeatAsync(caller.UserName, key, ct) is { } earlier)
            {
                // A retry repeats the request; another request under the same key is a client bug, and answering with
                // the first job would hide it (IETF httpapi-idempotency-key-header: 422).
                var asked = request.SeedPolicy == SeedPolicy.Random && earlier.SeedPolicy == SeedPolicy.Random ? generation with { Seed = earlier.Request.Seed } : generation;
                return asked == earlier.Request && request.SeedPolicy == earlier.SeedPolicy
                    ? SubmitResult.Ok(earlier, repeated: true)
                    : SubmitResult.Refuse(RefusalKind.IdempotencyKeyReused, "Idempotency-Key",
                        $"This Idempotency-Key was already used for a different request (job {earlier.Id}); use a new key for a new request.");
            }

            var options = _options.CurrentValue;
            if (_shared is null)
            {
                lock (_gate)
                {
                    int mine = _queue.CountFor(caller.UserName);
                    if (mine >= options.MaxQueuedPerUser)
                        return UserQueueFull(mine, options);
                    if (_queue.Count >= options.MaxQueuedTotal)
                        return QueueFull(options);
                }
            }

            state = new JobState(new JobRecord
            {
                Id = Guid.CreateVersion7().ToString("N"),
                UserName = caller.UserName,
                Status = JobStatus.Queued,
                Request = generation,
                SeedPolicy = request.SeedPolicy,
                IdempotencyKey = key,
                SubmittedAt = _clock.GetUtcNow(),
            });
            if (_shared is not null)
                return await AdmitSharedAsync(state.Record, options, ct);
            // Durable before visible: a job that was ever announced survives a crash.
            await _store.InsertJobAsync(state.Record, ct);
            lock (_gate)
            {
                _active[state.Id] = state;
                _queue.Enqueue(state, state.UserName, state.Request.Cost);
            }
        }
        finally
        {
            _admission.Release();
        }

        var snapshot = PublishQueueChanges(state.Id);
        WakeWorkers();
        return SubmitResult.Ok(snapshot ?? Snapshot(state));
    }

    /// <summary>Refused only when no card of this process could ever hold it; the first card's sentence says why.</summary>
    private string? NeverFitsAnyCard(GenerationRequest request)
    {
        string? first = null;
        foreach (var card in _cards)
        {
            if (card.Guard.CheckNeverFits(request) is not { } reason)
                return null;
            first ??= reason;
        }
        return first;
    }

    private static SubmitResult UserQueueFull(int mine, JobsOptions options) => SubmitResult.Refuse(RefusalKind.UserQueueFull, "queue",
        $"You already have {mine} jobs waiting, the most allowed per person ({options.MaxQueuedPerUser}); wait for one to finish or cancel one.");

    private static SubmitResult QueueFull(JobsOptions options) => SubmitResult.Refuse(RefusalKind.QueueFull, "queue",
        $"The queue is full ({options.MaxQueuedTotal} jobs waiting); please try again later.");

    /// <summary>Shared queue: the store tags, counts (every process's jobs) and inserts in one transaction.</summary>
    private async Task<SubmitResult> AdmitSharedAsync(JobRecord record, JobsOptions options, CancellationToken ct)
    {
        Admission admission;
        try
        {
            admission = await _shared!.AdmitAsync(record, options.MaxQueuedPerUser, options.MaxQueuedTotal, ct);
        }
        catch (DuplicateIdempotencyKeyException)
        {
            // The same click reached another process at the same moment and was admitted there first.
            var earlier = await _store.FindByIdempotencyKeyAsync(record.UserName, record.IdempotencyKey!, DateTimeOffset.MinValue, ct);
            if (earlier is null)
                throw;
            return SubmitResult.Ok(FromRecord(earlier), repeated: true);
        }
        switch (admission.Outcome)
        {
            case AdmitOutcome.UserQueueFull:
                return UserQueueFull(admission.Count, options);
            case AdmitOutcome.QueueFull:
                return QueueFull(options);
        }
        int? position = await _shared.PositionAsync(record.Id, ct);
        var snapshot = new JobSnapshot(record) { Position = position };
        _notifier.Publish(new JobQueued(record.Id, record.UserName, _clock.GetUtcNow(), position ?? 1, null, null));
        WakeWorkers();
        return SubmitResult.Ok(snapshot);
    }

    private async Task<JobSnapshot?> FindRepeatAsync(string user, string key, CancellationToken ct)
    {
        lock (_gate)
        {
            var live = _active.Values.FirstOrDefault(s => s.Record.IdempotencyKey == key && Caller.NameComparer.Equals(s.UserName, user));
            if (live is not null)
                return SnapshotLocked(live);
        }
        var stored = await _store.FindByIdempotencyKeyAsync(user, key, DateTimeOffset.MinValue, ct);
        return stored is null ? null : FromRecord(stored);
    }

    public async Task<JobSnapshot?> GetAsync(string jobId, Caller caller, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_active.TryGetValue(jobId, out var state))
                return caller.CanManage(state.UserName) ? SnapshotLocked(state) : null;
        }
        var record = await _store.GetJobAsync(jobId, ct);
        return record is not null && caller.CanManage(record.UserName) ? FromRecord(record) : null;
    }

    public IReadOnlyList<QueueEntry> ListQueue(Caller caller)
    {
        lock (_gate)
        {
            var etas = QueueEtasLocked();
            var entries = new List<QueueEntry>(_running.Count + _queue.Count);
            // Which card runs a job matters once there is more than one: several here, or other processes' (PostgreSQL).
            bool namesRunner = _shared is not null || _cards.Count > 1;
            foreach (var s in _running)
            {
                entries.Add(Entry(s, 0) with
                {
                    Runner = namesRunner ? new JobRunner(_shared is null ? null : Environment.MachineName, s.Card?.DeviceId) : null,
                });
            }
            // Jobs other processes run (read every couple of seconds): the same line everyone sees, the same picture rule.
            foreach (var other in _sharedRunning)
            {
                if (_active.ContainsKey(other.Job.Id))
                    continue;
                bool mine = caller.Owns(other.Job.UserName);
                var job = mine || caller.IsAdmin ? new JobSnapshot(other.Job) { Progress = other.Progress } : null;
                entries.Add(new QueueEntry(0, JobStatus.Running, mine, job, null)
                {
                    Runner = JobRunner.Parse(other.Worker),
                    Prompt = PromptFor(caller, other.Job.UserName, other.Job.Request.Prompt),
                });
            }
            int position = 1;
            foreach (var s in _queue.InOrder())
                entries.Add(Entry(s, position++));
            return entries;

            QueueEntry Entry(JobState s, int pos)
            {
                bool mine = caller.Owns(s.UserName);
                var eta = etas.GetValueOrDefault(s);
                var job = mine || caller.IsAdmin ? s.Snapshot(pos == 0 ? null : pos, eta.Start, eta.Finish) : null;
                return new QueueEntry(pos, s.Status, mine, job, eta.Start) { Prompt = PromptFor(caller, s.UserName, s.Request.Prompt) };
            }
        }
    }

    /// <summary>A queue line's prompt, when the caller may see it: the owner's choice as this process last learnt it.</summary>
    private string? PromptFor(Caller caller, string owner, string prompt) => caller.CanSee(owner, _sharing.LastKnown(owner)) ? prompt : null;

    public async Task<IReadOnlyList<JobSnapshot>> ListMineAsync(Caller caller, int limit = 50, CancellationToken ct = default)
    {
        var stored = await _store.ListJobsAsync(caller.UserName, Math.Clamp(limit, 1, 1000), ct);
        lock (_gate)
        {
            return stored
                .Select(r => _active.TryGetValue(r.Id, out var live) ? SnapshotLocked(live) : FromRecord(r))
                .ToArray();
        }
    }

    public async Task<CancelOutcome> CancelAsync(string jobId, Caller caller, CancellationToken ct = default)
    {
        JobState? removed = null;
        lock (_gate)
        {
            if (_active.TryGetValue(jobId, out var state))
            {
                if (!caller.CanManage(state.UserName))
                    return CancelOutcome.NotAllowed;
                if (state.Status == JobStatus.Running)
                {
                    state.CancelledBy ??= caller.UserName;
                    state.Cancellation?.Cancel();
                    return CancelOutcome.Stopping;
                }
                _queue.Remove(state);
                _active.Remove(jobId);
                state.Status = JobStatus.Cancelled;
                removed = state;
            }
        }

        if (removed is null)
        {
            var record = await _store.GetJobAsync(jobId, ct);
            if (record is null)
                return CancelOutcome.NotFound;
            if (!caller.CanManage(record.UserName))
                return CancelOutcome.NotAllowed;
            if (_shared is null)
                return CancelOutcome.AlreadyFinished;
            // Queued in the database, or running in another process (which stops it at its next heartbeat).
            switch (await _shared.CancelAsync(jobId, caller.UserName, _clock.GetUtcNow(), ct))
            {
                case SharedCancel.Cancelled:
                    Interlocked.Increment(ref _cancelled);
                    _notifier.Publish(new JobCancelled(jobId, record.UserName, _clock.GetUtcNow(), caller.UserName));
                    return CancelOutcome.Cancelled;
                case SharedCancel.StopRequested:
                    return CancelOutcome.Stopping;
                case SharedCancel.NotFound:
                    return CancelOutcome.NotFound;
                default:
                    return CancelOutcome.AlreadyFinished;
            }
        }

        removed.CancelledBy = caller.UserName;
        await CancelledAsync(removed);
        return CancelOutcome.Cancelled;
    }

    public async IAsyncEnumerable<JobUpdate> WatchJobAsync(string jobId, Caller caller, [EnumeratorCancellation] CancellationToken ct = default)
    {
        // Subscribe before the snapshot, so nothing falls between them; the versions drop what the snapshot already has.
        var channel = new JobUpdateChannel();
        using var subscription = _notifier.SubscribeJob(jobId, channel.Write);
        if (await GetAsync(jobId, caller, ct) is not { } snapshot)
            yield break;
        var update = JobUpdate.Of(snapshot);
        yield return update;
        long last = update.Version;
        if (update.IsFinal)
            yield break;
        await foreach (var next in channel.ReadAllAsync(ct))
        {
            if (next.Version <= last)
                continue;
            last = next.Version;
            yield return next;
            if (next.IsFinal)
                yield break;
        }
    }

    public async IAsyncEnumerable<JobUpdate> WatchMineAsync(Caller caller, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = new JobUpdateChannel();
        using var subscription = _notifier.SubscribeUser(caller.UserName, channel.Write);
        var last = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var snapshot in await ListMineAsync(caller, 20, ct))
        {
            last[snapshot.Id] = snapshot.Version;
            yield return JobUpdate.Of(snapshot);
        }
        await foreach (var next in channel.ReadAllAsync(ct))
        {
            if (last.TryGetValue(next.JobId, out var seen) && next.Version <= seen)
                continue;
            last[next.JobId] = next.Version;
            yield return next;
        }
    }

    private static string CancelledMessage(string owner, string by) =>
        Caller.NameComparer.Equals(owner, by) ? "Cancelled." : $"Cancelled by {by}.";

    // The lifecycle. Every transition is written to the store first (so nothing announced is ever lost), then
    // changed in memory, then announced; the worker and cancellation both come through here.

    /// <summary>The worker took <paramref name="job"/> (<see cref="TakeNextAsync"/> marked it running).</summary>
    internal async Task StartedAsync(JobState job)
    {
        // A claimed job was marked running by its claim.
        if (job.Worker is null)
            await _store.MarkStartedAsync(job.Id, job.StartedAt!.Value, CancellationToken.None);
        // The cold start is the card's that took the job: another card's model says nothing about this one.
        var load = job.Card?.Model.LoadEstimate;
        _notifier.Publish(new JobStarted(job.Id, job.UserName, _clock.GetUtcNow(), _eta.EstimateRun(job.Request) + (load ?? TimeSpan.Zero))
            { Version = job.StartVersion, ModelLoad = load });
    }

    /// <summary>A denoising step of image <paramref name="imageIndex"/> of the job.</summary>
    internal void Stepped(JobState job, int imageIndex, GenerationProgress step)
    {
        int count = job.Request.Count;
        long version;
        lock (_gate)
        {
            // Progress and its version change together, so a snapshot showing this step carries its version.
            job.Progress = new JobProgress(imageIndex, count, step.Step, step.TotalSteps, step.Preview);
            version = ++job.Version;
        }
        var eta = _eta.EstimateRemaining(job.Request, imageIndex, step.Step);
        if (job.Worker is not null)
            ShareProgress(job, new JobProgress(imageIndex, count, step.Step, step.TotalSteps, null), step.Preview);
        _notifier.Publish(new JobStep(job.Id, job.UserName, _clock.GetUtcNow(), imageIndex, count, step.Step, step.TotalSteps, eta, step.Preview) { Version = version });
    }

    /// <summary>
    /// Browsers connected to other processes see a claimed job's steps through the database: at most four writes a second
    /// per job (and always the last step), off the pipeline's thread; the preview travels as PNG bytes in the row.
    /// </summary>
    private void ShareProgress(JobState job, JobProgress progress, PreviewPicture? preview)
    {
        long now = Environment.TickCount64;
        bool last = progress.Step == progress.TotalSteps && progress.ImageIndex == progress.ImageCount - 1;
        if (!last && now - job.ProgressSharedAt < 250)
            return;
        job.ProgressSharedAt = now;
        _ = Task.Run(async () =>
        {
            try
            {
                await _shared!.SaveProgressAsync(job.Id, progress, preview is null ? null : PngCodec.Encode(preview.Image));
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "Could not share the progress of job {JobId}", job.Id);
            }
        });
    }

    /// <summary>What this process relayed of a job another process changed.</summary>
    private sealed class RelayedJob
    {
        /// <summary>The newest signal handled.</summary>
        public long Signal;
        /// <summary>The last version given to a relayed event of the job.</summary>
        public long Published;
        /// <summary>The pictures announced (ids: a re-run after a restart makes new rows, announced again).</summary>
        public readonly HashSet<long> Pictures = [];
        /// <summary>
        /// Its end was told: an end is final, so it is told once, though several signals read the ended row (the last
        /// picture's and the end's own, handled after the end was written, each newest when handled).
        /// </summary>
        public bool Ended;
    }

    /// <summary>True the first time only: whether this process is the one to tell subscribers that the job ended.</summary>
    private bool FirstEnd(string jobId)
    {
        lock (_relayed)
        {
            var relayed = RelayedLocked(jobId);
            if (relayed.Ended)
                return false;
            relayed.Ended = true;
            return true;
        }
    }

    private readonly Dictionary<string, RelayedJob> _relayed = new(StringComparer.Ordinal);

    // A relayed change carries the database's event counter (rising across all jobs) lifted above any count a job
    // reaches in one process, so a watcher that already saw this process's own events of the job keeps the relayed ones;
    // a job this process claims later counts on from the last relayed version (ClaimNextAsync), for the same reason.
    // One signal may bring several events (the pictures saved since the last one, then the change): each signal owns
    // VersionsPerSignal versions, more than a job's pictures (GenerationRequest.MaxCount) plus its change.
    private const long RelayedVersionBase = 1L << 40;
    private const long VersionsPerSignal = 16;

    /// <summary>What was relayed of the job, made on first use; under <c>lock (_relayed)</c>. Bounded: old jobs are forgotten wholesale.</summary>
    private RelayedJob RelayedLocked(string jobId)
    {
        if (!_relayed.TryGetValue(jobId, out var relayed))
        {
            if (_relayed.Count > 10_000)
                _relayed.Clear();
            _relayed[jobId] = relayed = new RelayedJob();
        }
        return relayed;
    }

    private long LastRelayedVersion(string jobId)
    {
        lock (_relayed)
            return _relayed.TryGetValue(jobId, out var relayed) ? relayed.Published : 0;
    }

    /// <summary>
    /// Another process changed a job (LISTEN/NOTIFY): read its row (its pictures, and its latest step) and tell this
    /// process's subscribers, as if it had happened here: first each picture saved since the last signal, in order, then
    /// the change. A signal older than one already handled for the job (commits can overtake each other) relays only new
    /// pictures, never an older state; a queued job wakes the idle workers.
    /// </summary>
    internal async Task OnSharedSignalAsync(string jobId, long version)
    {
        try
        {
            RelayedJob? relayed;
            bool newest;
            lock (_relayed)
            {
                relayed = RelayedLocked(jobId);
                newest = version > relayed.Signal;
                if (newest)
                    relayed.Signal = version;
            }
            lock (_gate)
            {
                // A job this process runs is announced by this process.
                if (_active.ContainsKey(jobId))
                    return;
            }
            var record = await _store.GetJobAsync(jobId);
            if (record is null)
                return;
            var events = new List<JobEvent>();
            lock (_relayed)
            {
                // Pictures are saved in order and a job's ids are listed by index, so the i-th id is picture i.
                for (int i = 0; i < record.ImageIds.Count; i++)
                {
                    if (relayed.Pictures.Add(record.ImageIds[i]))
                        events.Add(new JobImageSaved(record.Id, record.UserName, _clock.GetUtcNow(), i, record.Request.Count, record.ImageIds[i]));
                }
            }
            if (newest && await RelayedChangeAsync(record) is { } change && (!record.Status.IsFinal() || FirstEnd(jobId)))
                events.Add(change);
            if (record.Status == JobStatus.Queued)
                WakeWorkers();
            foreach (var e in events)
            {
                long next;
                lock (_relayed)
                    next = relayed.Published = Math.Max(relayed.Published + 1, RelayedVersionBase + version * VersionsPerSignal);
                _notifier.Publish(e with { Version = next });
            }
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not relay the change of job {JobId} from another process", jobId);
        }
    }

    /// <summary>The event that says what state another process's job is in now (queued, running with its step, or its end).</summary>
    private async Task<JobEvent?> RelayedChangeAsync(JobRecord record)
    {
        // A job another process started or ended: the queue view (every process's running jobs) is read again before
        // the event goes out, so a page that re-reads the queue on it sees the change.
        bool listedRunning;
        lock (_gate)
            listedRunning = _sharedRunning.Any(r => r.Job.Id == record.Id);
        if ((record.Status == JobStatus.Running) != listedRunning)
            await RefreshSharedCountsAsync(CancellationToken.None);
        var now = _clock.GetUtcNow();
        return record.Status switch
        {
            JobStatus.Queued => new JobQueued(record.Id, record.UserName, now, await _shared!.PositionAsync(record.Id) ?? 1, null, record.Notice),
            JobStatus.Running => await _shared!.ReadProgressAsync(record.Id) is { } p
                ? new JobStep(record.Id, record.UserName, now, p.Progress.ImageIndex, p.Progress.ImageCount, p.Progress.Step, p.Progress.TotalSteps,
                    null, p.PreviewPng is null ? null : new PreviewPicture(PngCodec.Read(new MemoryStream(p.PreviewPng)).Image))
                : new JobStarted(record.Id, record.UserName, now, _eta.EstimateRun(record.Request)),
            JobStatus.Succeeded => new JobSucceeded(record.Id, record.UserName, now, record.ImageIds,
                (record.StartedAt ?? record.SubmittedAt) - record.SubmittedAt, (record.FinishedAt ?? now) - (record.StartedAt ?? now), record.Notice),
            JobStatus.Failed or JobStatus.Interrupted => new JobFailed(record.Id, record.UserName, now, record.Error ?? "Failed.", false),
            JobStatus.Cancelled => new JobCancelled(record.Id, record.UserName, now,
                record.Error is { } text && text.StartsWith("Cancelled by ", StringComparison.Ordinal) ? text[13..].TrimEnd('.') : record.UserName),
            _ => null,
        };
    }

    /// <summary>
    /// Another process changed a person's choice to share their pictures: read it again, so this process's queue shows or
    /// hides their prompts at once (and pages showing it draw it again, <see cref="PictureSharing.Changed"/>).
    /// </summary>
    internal async Task OnSharingSignalAsync(string userName)
    {
        try
        {
            await _sharing.ReadAsync(userName);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not read the sharing choice of {User} that another process changed", userName);
        }
    }

    /// <summary>Listens for other processes' changes until <paramref name="ct"/>; returns at once on SQLite (one process).</summary>
    internal Task ListenForOtherProcessesAsync(CancellationToken ct) =>
        _shared is null ? Task.CompletedTask : _shared.ListenAsync(OnSharedSignalAsync, OnSharingSignalAsync, ct);

    /// <summary>
    /// A finished picture's files are written: its row goes in while the job runs on (only while this worker still holds
    /// a claimed job), then the job's watchers hear of it. The job stays running until its last picture.
    /// </summary>
    internal async Task ImageSavedAsync(JobState job, NewImage image)
    {
        long id = job.Worker is null
            ? await _store.AddImageAsync(job.Id, image, CancellationToken.None)
            : await _shared!.AddClaimedImageAsync(job.Id, job.Worker, image, CancellationToken.None);
        long version;
        lock (_gate)
        {
            // The picture and its version change together, so a snapshot listing it carries the version.
            job.AddImage(image.Index, id);
            version = ++job.Version;
        }
        _notifier.Publish(new JobImageSaved(job.Id, job.UserName, _clock.GetUtcNow(), image.Index, job.Request.Count, id) { Version = version });
    }

    /// <summary>
    /// Every picture is saved (<see cref="ImageSavedAsync"/>): the job's success, then the measured timing.
    /// <paramref name="measuredImages"/>: how many pictures <paramref name="timings"/> covers.
    /// </summary>
    internal async Task CompletedAsync(JobState job, string? notice, GenerationTimings timings, int measuredImages)
    {
        var ids = job.Worker is null
            ? await _store.CompleteJobAsync(job.Id, _clock.GetUtcNow(), notice, [], job.GpuTime, CancellationToken.None)
            : await _shared!.CompleteClaimedAsync(job.Id, job.Worker, _clock.GetUtcNow(), notice, [], job.GpuTime, CancellationToken.None);
        if (measuredImages > 0 && _eta.Record(job.Request with { Count = measuredImages }, timings, measuredImages) is { } measured)
            await _timings.SaveStepTimingAsync(measured, CancellationToken.None);
        var finishedAt = _clock.GetUtcNow();
        Retire(job, JobStatus.Succeeded, ids.Count);
        Publish(job, new JobSucceeded(job.Id, job.UserName, finishedAt, ids,
            job.StartedAt!.Value - job.Record.SubmittedAt, finishedAt - job.StartedAt!.Value, notice));
    }

    internal async Task FailedAsync(JobState job, string reason, string? notice, bool outOfMemory)
    {
        if (!await FinishAsync(job, JobStatus.Failed, reason, notice))
            return;
        Retire(job, JobStatus.Failed, job.Record.ImageIds.Count);
        Publish(job, new JobFailed(job.Id, job.UserName, _clock.GetUtcNow(), reason, outOfMemory));
    }

    /// <summary>Queued or running, stopped by its owner or an admin (<see cref="JobState.CancelledBy"/>).</summary>
    internal async Task CancelledAsync(JobState job)
    {
        string by = job.CancelledBy ?? job.UserName;
        if (!await FinishAsync(job, JobStatus.Cancelled, CancelledMessage(job.UserName, by), null))
            return;
        Retire(job, JobStatus.Cancelled, job.Record.ImageIds.Count);
        Publish(job, new JobCancelled(job.Id, job.UserName, _clock.GetUtcNow(), by));
    }

    /// <summary>Graceful shutdown stopped the run: back to queued (no restart counted), to run again after the restart.</summary>
    internal async Task RequeuedAsync(JobState job)
    {
        if (job.Worker is not null)
        {
            // Back in the shared queue at its old place; some worker (maybe in another process) takes it.
            await _shared!.ReleaseAsync(job.Id, job.Worker, CancellationToken.None);
            Forget(job);
            return;
        }
        await _store.RequeueAsync(job.Id, CancellationToken.None);
        ReturnToQueue(job);
    }

    /// <summary>
    /// The card running <paramref name="job"/> failed (<see cref="OrtFailures.IsCardFault"/>) and the job has restarts
    /// left: back to the queue at its old place with <paramref name="notice"/> and one more restart counted, so another
    /// card (or this one after its pause) runs it. Its watchers hear that it waits again. A claimed job whose lease was
    /// lost meanwhile is left to its new holder.
    /// </summary>
    internal async Task RequeueAfterCardFaultAsync(JobState job, string notice)
    {
        if (job.Worker is not null)
        {
            if (!await _shared!.ReleaseAfterCardFaultAsync(job.Id, job.Worker, notice, CancellationToken.None))
            {
                LeaseLost(job);
                return;
            }
            Forget(job);
            int? position = await _shared.PositionAsync(job.Id);
            long version;
            lock (_gate)
                version = ++job.Version;
            // A worker of this process may claim it again: its events must count on from this one, or watchers here
            // would drop them as repeats.
            lock (_relayed)
            {
                var relayed = RelayedLocked(job.Id);
                relayed.Published = Math.Max(relayed.Published, version);
            }
            _notifier.Publish(new JobQueued(job.Id, job.UserName, _clock.GetUtcNow(), position ?? 1, null, notice) { Version = version });
            return;
        }
        await _store.RequeueAfterCardFaultAsync(job.Id, notice, CancellationToken.None);
        CancellationTokenSource? ended;
        lock (_gate)
        {
            // Taken before the job is visible again: another worker may take it at once and give it a new one.
            ended = job.Cancellation;
            _running.Remove(job);
            job.BackInQueueAfterCardFault(notice);
            _queue.PutBack(job, job.UserName, job.Request.Cost, job.Place);
        }
        ended?.Dispose();
        PublishQueueChanges(null);
        WakeWorkers();
    }

    /// <summary>The worker let go of the pipeline for this job after <paramref name="held"/> (recorded when the job ends).</summary>
    internal void HeldPipeline(JobState job, TimeSpan held)
    {
        lock (_gate)
            job.GpuTime += held;
    }

    /// <summary>Writes the end of a job; false when a claimed job's lease was lost (its new holder writes the outcome).</summary>
    private async Task<bool> FinishAsync(JobState job, JobStatus status, string? error, string? notice)
    {
        if (job.Worker is null)
        {
            await _store.FinishJobAsync(job.Id, status, _clock.GetUtcNow(), error, notice, job.GpuTime, CancellationToken.None);
            return true;
        }
        if (await _shared!.FinishClaimedAsync(job.Id, job.Worker, status, _clock.GetUtcNow(), error, notice, job.GpuTime, CancellationToken.None))
            return true;
        LeaseLost(job);
        return false;
    }

    /// <summary>Another worker holds the job now: drop this process's copy without writing or announcing anything.</summary>
    internal void LeaseLost(JobState job)
    {
        _logger.LogWarning("Job {JobId}: this worker's lease ran out and another worker took the job; this run's outcome is dropped", job.Id);
        Forget(job);
    }

    private void Forget(JobState job)
    {
        lock (_gate)
        {
            _running.Remove(job);
            _active.Remove(job.Id);
            DropSharedRunningLocked(job.Id);
        }
        job.Cancellation?.Dispose();
        WakeWorkers();
    }

    /// <summary>
    /// Renews a claimed job's lease; stops the run when the lease was lost or someone in any process asked to cancel it.
    /// </summary>
    internal async Task HeartbeatAsync(JobState job)
    {
        var now = _clock.GetUtcNow();
        var lease = await _shared!.RenewLeaseAsync(job.Id, job.Worker!, now + TimeSpan.FromSeconds(_storeOptions.LeaseSeconds), CancellationToken.None);
        if (lease.Held && lease.CancelRequestedBy is null)
            return;
        if (lease.CancelRequestedBy is { } by)
            job.CancelledBy ??= by;
        try
        {
            job.Cancellation?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended between the heartbeat and here.
        }
    }

    internal TimeSpan HeartbeatInterval => TimeSpan.FromSeconds(_storeOptions.HeartbeatSeconds);

    internal bool IsOutOfMemory(Exception error) => _cards[0].Guard.IsOutOfMemory(error);

    /// <summary>Counted for /metrics, and the guard chooses sequential residency from now on.</summary>
    internal void NoteOutOfMemory(JobState job)
    {
        Interlocked.Increment(ref _outOfMemory);
        (job.Card ?? _cards[0]).Guard.NoteOutOfMemory();
    }

    /// <summary>One per card at least; ZImage:Jobs:Workers above the number of cards puts several workers on each card in turn.</summary>
    internal int Workers => Math.Max(Math.Max(1, _options.CurrentValue.Workers), _cards.Count);

    internal GpuCards Cards => _cards;

    /// <summary>
    /// Waits for the next job in fair order that fits in GPU memory now and marks it running.
    /// Jobs that do not fit yet stay queued with a notice and are re-checked every poll interval.
    /// </summary>
    internal async Task<JobState> TakeNextAsync(CancellationToken ct, int worker = 0)
    {
        var card = _cards.ForWorker(worker);
        if (_shared is not null)
            return await ClaimNextAsync(worker, card, ct);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            JobState? next = null;
            bool anyHeld = false;
            WarmCards warm = WarmCards.None;
            lock (_gate)
            {
                QueuePlace place = default;
                if (!_stopping)
                {
                    warm = WarmCardsLocked(card);
                    _queue.TryDequeue(s =>
                    {
                        if (!card.Guard.FitsNow(s.Request, out var reason))
                        {
                            s.HeldReason = reason;
                            anyHeld = true;
                            return false;
                        }
                        s.HeldReason = null;
                        return !warm.TakeOver(s.Request);
                    }, out next, out place);
                }
                if (next is not null)
                {
                    next.Place = place;
                    next.Status = JobStatus.Running;
                    next.StartedAt = _clock.GetUtcNow();
                    next.Cancellation = new CancellationTokenSource();
                    next.Progress = new JobProgress(0, next.Request.Count, 0, next.Request.Steps, null);
                    // The start's version is taken with the change, so a snapshot that already says "running"
                    // carries it and the JobStarted that follows is dropped as a repeat.
                    next.StartVersion = ++next.Version;
                    next.Card = card;
                    next.WorkerIndex = worker;
                    _running.Add(next);
                }
            }

            if (next is not null)
                return next;
            if (anyHeld)
                PublishQueueChanges(null);
            // A job left to a warm card is looked at again soon: once that card is busy, this one takes the next.
            await _wake.WaitAsync(anyHeld || warm.Left ? TimeSpan.FromMilliseconds(_options.CurrentValue.MemoryHoldPollMilliseconds) : Timeout.InfiniteTimeSpan, ct);
        }
    }

    /// <summary>Whether a job this card takes waits for the model to load first (never loaded, or unloaded after idle minutes).</summary>
    private static bool NeedsLoad(GpuCard card) => card.Model.LoadEstimate is not null;

    /// <summary>
    /// For a card without the model loaded: the free cards of this process that have it. Under <see cref="_gate"/>.
    /// A card with the model has none to leave jobs to.
    /// </summary>
    private WarmCards WarmCardsLocked(GpuCard card) =>
        NeedsLoad(card) ? new WarmCards([.. FreeWorkersLocked().Select(_cards.ForWorker).Where(c => !NeedsLoad(c))]) : WarmCards.None;

    /// <summary>
    /// A card without the model loaded leaves a job to a free card that has it (one job each), in the in-process queue
    /// and in the PostgreSQL claim alike: nobody waits for a load that is not needed, the unloaded card stays free, and the
    /// "loading the model" hint and the ETAs, which assume this, come true (NextJobLoadEstimate, QueueEtasLocked). One
    /// instance per pass over the queue, asked about the jobs in fair order.
    /// </summary>
    private sealed class WarmCards(List<GpuCard> free)
    {
        public static WarmCards None => new([]);

        /// <summary>Whether a job was left to a warm card this pass: look again soon, once that card is busy.</summary>
        public bool Left { get; private set; }

        /// <summary>True when a free card with the model fits the job; that card is then counted as taken.</summary>
        public bool TakeOver(GenerationRequest request)
        {
            if (free.FindIndex(c => c.Guard.FitsNow(request, out _)) is not (>= 0 and var taker))
                return false;
            free.RemoveAt(taker);
            Left = true;
            return true;
        }
    }

    /// <summary>The in-process workers running nothing now whose card is not pausing after a fault. Under <see cref="_gate"/>.</summary>
    private IEnumerable<int> FreeWorkersLocked()
    {
        var now = _clock.GetUtcNow();
        return Enumerable.Range(0, Workers).Where(w => !_running.Any(s => s.WorkerIndex == w) && _cards.ForWorker(w).Health.WaitAt(now) == TimeSpan.Zero);
    }

    /// <summary>
    /// The measured cold start a job submitted now would wait for: null when a free card has the model loaded (it takes
    /// the job: <see cref="TakeNextAsync"/>), when every worker is busy (the card that frees first has the model by then),
    /// or when no load was measured yet; else the cold start of the free cards, all without the model. What the status
    /// bar's "loading the model (≈ N s)" shows while nothing is loading.
    /// </summary>
    public TimeSpan? NextJobLoadEstimate()
    {
        lock (_gate)
        {
            TimeSpan? cold = null;
            foreach (var card in FreeWorkersLocked().Select(_cards.ForWorker))
            {
                if (card.Model.LoadEstimate is not { } load)
                    return null;
                cold = cold is { } c && c <= load ? c : load;
            }
            return cold;
        }
    }

    /// <summary>Unique among every process on the database: machine, process, worker, and the card it runs on (<see cref="JobRunner"/>).</summary>
    internal static string WorkerName(int worker, int device) => JobRunner.Name(Environment.MachineName, Environment.ProcessId, worker, device);

    /// <summary>
    /// Shared queue: re-queues jobs of dead workers, then claims the next fair job that fits on this worker's GPU now.
    /// Waits for a local submission or a notification from another process (<see cref="Wake"/>), or the poll interval.
    /// </summary>
    private async Task<JobState> ClaimNextAsync(int workerIndex, GpuCard card, CancellationToken ct)
    {
        string worker = WorkerName(workerIndex, card.DeviceId);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var warm = WarmCards.None;
            if (!_stopping)
            {
                var now = _clock.GetUtcNow();
                await _shared!.RequeueExpiredAsync(now, ct);
                // Only this process's cards are known here; another studio's warm card is not waited for.
                lock (_gate)
                    warm = WarmCardsLocked(card);
                long claimStart = Stopwatch.GetTimestamp();
                var record = await _shared.ClaimAsync(worker, now, now + TimeSpan.FromSeconds(_storeOptions.LeaseSeconds),
                    request => card.Guard.FitsNow(request, out _) && !warm.TakeOver(request), ct);
                if (record is not null)
                {
                    NoteClaim(Stopwatch.GetElapsedTime(claimStart));
                    var state = new JobState(record)
                    {
                        Worker = worker,
                        Card = card,
                        WorkerIndex = workerIndex,
                        Cancellation = new CancellationTokenSource(),
                        Progress = new JobProgress(0, record.Request.Count, 0, record.Request.Steps, null),
                        Version = LastRelayedVersion(record.Id),
                    };
                    state.StartVersion = ++state.Version;
                    lock (_gate)
                    {
                        _active[state.Id] = state;
                        _running.Add(state);
                    }
                    return state;
                }
            }
            int poll = _storeOptions.ClaimPollMilliseconds;
            await _wake.WaitAsync(TimeSpan.FromMilliseconds(warm.Left ? Math.Min(poll, _options.CurrentValue.MemoryHoldPollMilliseconds) : poll), ct);
        }
    }

    private readonly Queue<double> _claimMilliseconds = new();

    private void NoteClaim(TimeSpan took)
    {
        lock (_claimMilliseconds)
        {
            if (_claimMilliseconds.Count == 10_000)
                _claimMilliseconds.Dequeue();
            _claimMilliseconds.Enqueue(took.TotalMilliseconds);
        }
    }

    /// <summary>How long the last (up to 10,000) successful claims took in the database, for scale-bench.</summary>
    public IReadOnlyList<double> ClaimMilliseconds
    {
        get
        {
            lock (_claimMilliseconds)
                return [.. _claimMilliseconds];
        }
    }

    /// <summary>True while a worker of this process runs the job (events for it are this process's own, not relayed).</summary>
    public bool RunsHere(string jobId)
    {
        lock (_gate)
            return _active.TryGetValue(jobId, out var s) && s.Status == JobStatus.Running;
    }

    /// <summary>Something changed in the shared queue (a notification from another process): an idle worker looks again.</summary>
    internal void Wake() => WakeWorkers();

    /// <summary>
    /// Every idle worker looks again (a job one card cannot hold now may fit another); the count stays at most one per
    /// worker, so wake-ups that nobody waited for do not pile up into empty rounds.
    /// </summary>
    private void WakeWorkers()
    {
        int missing = Workers - _wake.CurrentCount;
        if (missing > 0)
            _wake.Release(missing);
    }

    /// <summary>Out of the queue and the running set once the job's final state is durable.</summary>
    internal void Retire(JobState state, JobStatus status, int images)
    {
        lock (_gate)
        {
            // Counted in the same step that shows the job ended: until then a reader gets it from memory, still running;
            // after, from the store, ended. Counted after the lock, /metrics could lag a job already reported done.
            switch (status)
            {
                case JobStatus.Succeeded:
                    Interlocked.Increment(ref _succeeded);
                    break;
                case JobStatus.Failed:
                    Interlocked.Increment(ref _failed);
                    break;
                case JobStatus.Cancelled:
                    Interlocked.Increment(ref _cancelled);
                    break;
            }
            // Pictures a failed or cancelled job finished before it stopped are kept, and counted.
            if (images > 0)
                _imagesByUser.AddOrUpdate(state.UserName, images, (_, n) => n + images);
            if (state.GpuTime > TimeSpan.Zero)
                _gpuSecondsByUser.AddOrUpdate(state.UserName, state.GpuTime.TotalSeconds, (_, s) => s + state.GpuTime.TotalSeconds);
            state.Status = status;
            _running.Remove(state);
            _active.Remove(state.Id);
            DropSharedRunningLocked(state.Id);
        }
        state.Cancellation?.Dispose();
        PublishQueueChanges(null);
        // A finished run frees GPU memory: a held job may fit now.
        WakeWorkers();
    }

    private void ReturnToQueue(JobState state)
    {
        lock (_gate)
        {
            _running.Remove(state);
            state.Status = JobStatus.Queued;
            state.StartedAt = null;
            state.Progress = null;
            _queue.Enqueue(state, state.UserName, state.Request.Cost);
        }
    }

    internal void SetNotice(JobState state, string notice)
    {
        lock (_gate)
            state.Notice = notice;
    }

    /// <summary>Stops handing out jobs and refuses new ones (graceful shutdown).</summary>
    internal void BeginStopping()
    {
        _stopping = true;
        _wake.Release(Workers);
    }

    /// <summary>Whether a worker of this process runs a job on <paramref name="card"/> now, and its latest step.</summary>
    internal (bool Busy, JobProgress? Progress) RunningOn(GpuCard card)
    {
        lock (_gate)
        {
            var job = _running.FirstOrDefault(s => ReferenceEquals(s.Card, card));
            return job is null ? (false, null) : (true, job.Progress is { } p ? p with { Preview = null } : null);
        }
    }

    /// <summary>Queued and running jobs: this process's queue, or with PostgreSQL every process's (refreshed by the relay).</summary>
    internal (int Queued, int Running) Counts()
    {
        lock (_gate)
            return _shared is not null ? _sharedCounts : (_queue.Count, _running.Count);
    }

    private (int Queued, int Running) _sharedCounts;
    // Every process's running jobs (PostgreSQL), for the queue view; this process's own come from _running.
    private IReadOnlyList<RunningJob> _sharedRunning = [];

    /// <summary>A job this process ended is no longer running anywhere: not listed until the next read says otherwise.</summary>
    private void DropSharedRunningLocked(string jobId)
    {
        if (_sharedRunning.Any(r => r.Job.Id == jobId))
            _sharedRunning = [.. _sharedRunning.Where(r => r.Job.Id != jobId)];
    }

    /// <summary>
    /// Reads every process's queued and running counts and running jobs (PostgreSQL); the relay calls it every couple of
    /// seconds and when another process starts or ends a job.
    /// </summary>
    internal async Task RefreshSharedCountsAsync(CancellationToken ct)
    {
        if (_shared is null)
            return;
        var counts = await _shared.CountAsync(ct);
        var running = await _shared.ListRunningAsync(ct);
        // Their owners' choices decide who sees the prompts: read with the rows, so a missed sharing signal heals here too.
        foreach (var job in running)
            _sharing.Remember(job.Job.UserName, job.OwnerShares);
        lock (_gate)
        {
            _sharedCounts = counts;
            _sharedRunning = running;
        }
    }

    internal (long Succeeded, long Failed, long Cancelled, long OutOfMemory, IReadOnlyDictionary<string, long> ImagesByUser) Counters() =>
        (Interlocked.Read(ref _succeeded), Interlocked.Read(ref _failed), Interlocked.Read(ref _cancelled), Interlocked.Read(ref _outOfMemory),
            new Dictionary<string, long>(_imagesByUser, Caller.NameComparer));

    /// <summary>GPU seconds per person since start-up, for /metrics.</summary>
    internal IReadOnlyDictionary<string, double> GpuSecondsByUser() => new Dictionary<string, double>(_gpuSecondsByUser, Caller.NameComparer);

    /// <summary>
    /// Sends JobQueued to every queued job whose position or hold notice changed, and returns the
    /// snapshot of <paramref name="forJobId"/> (for the submitter). Events go out after the lock is released.
    /// </summary>
    private JobSnapshot? PublishQueueChanges(string? forJobId)
    {
        var events = new List<JobQueued>();
        JobSnapshot? requested = null;
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            var etas = QueueEtasLocked();
            int position = 1;
            foreach (var s in _queue.InOrder())
            {
                var eta = etas.GetValueOrDefault(s);
                if (s.Id == forJobId)
                    requested = s.Snapshot(position, eta.Start, eta.Finish);
                if (s.PublishedPosition != position || s.PublishedHeldReason != s.HeldReason || s.Id == forJobId)
                {
                    s.PublishedPosition = position;
                    s.PublishedHeldReason = s.HeldReason;
                    events.Add(new JobQueued(s.Id, s.UserName, now, position, eta.Start, s.HeldReason ?? s.Notice) { Version = ++s.Version });
                }
                position++;
            }
        }
        foreach (var e in events)
            _notifier.Publish(e);
        return requested;
    }

    private JobSnapshot Snapshot(JobState state)
    {
        lock (_gate)
            return SnapshotLocked(state);
    }

    private JobSnapshot SnapshotLocked(JobState state)
    {
        var etas = QueueEtasLocked();
        var eta = etas.GetValueOrDefault(state);
        int? position = null;
        if (state.Status == JobStatus.Queued)
        {
            int p = 1;
            foreach (var s in _queue.InOrder())
            {
                if (ReferenceEquals(s, state))
                {
                    position = p;
                    break;
                }
                p++;
            }
        }
        return state.Snapshot(position, eta.Start, eta.Finish);
    }

    /// <summary>
    /// Simulates the workers over the queue in fair order, as <see cref="TakeNextAsync"/> hands jobs out: each running job
    /// frees its worker after its measured remaining time; each queued job goes to an idle worker if there is one (one
    /// whose card has the model loaded first), else to the worker that frees first.
    /// </summary>
    private Dictionary<JobState, (TimeSpan? Start, TimeSpan? Finish)> QueueEtasLocked()
    {
        var result = new Dictionary<JobState, (TimeSpan?, TimeSpan?)>(ReferenceEqualityComparer.Instance);
        int workers = Workers;
        var free = new TimeSpan[workers];
        var busy = new bool[workers];
        // A model that is not loaded (first job, or unloaded after idle) costs its measured cold start once per card: the
        // running job still before its first step pays it, or else the first job to start on that card.
        foreach (var s in _running)
        {
            var p = s.Progress;
            var load = p is null or { ImageIndex: 0, Step: 0 } ? s.Card?.Model.LoadEstimate ?? TimeSpan.Zero : TimeSpan.Zero;
            var remaining = _eta.EstimateRemaining(s.Request, p?.ImageIndex ?? 0, p?.Step ?? 0) + load;
            result[s] = (null, remaining);
            int slot = s.WorkerIndex % workers;
            if (busy[slot] && Array.IndexOf(busy, false) is >= 0 and var idle)
                slot = idle;
            free[slot] = remaining;
            busy[slot] = true;
        }
        var now = _clock.GetUtcNow();
        for (int w = 0; w < workers; w++)
        {
            var card = _cards.ForWorker(w);
            if (!busy[w] && !_running.Any(s => ReferenceEquals(s.Card, card)))
                free[w] = card.Model.LoadEstimate ?? TimeSpan.Zero;
            // A card pausing after a fault takes nothing until its next try: busy until then, not idle.
            if (!busy[w] && card.Health.WaitAt(now) is var pause && pause > TimeSpan.Zero)
            {
                free[w] = pause > free[w] ? pause : free[w];
                busy[w] = true;
            }
        }
        foreach (var s in _queue.InOrder())
        {
            // An idle worker takes the job at once (paying its card's load, if any); only when none is idle does it wait
            // for the worker that frees first. Idle before busy, then the earliest free (false sorts before true).
            int slot = 0;
            for (int i = 1; i < free.Length; i++)
            {
                if ((busy[i], free[i]).CompareTo((busy[slot], free[slot])) < 0)
                    slot = i;
            }
            busy[slot] = true;
            var start = free[slot];
            var finish = start + _eta.EstimateRun(s.Request);
            free[slot] = finish;
            result[s] = (start, finish);
        }
        return result;
    }

    private static JobSnapshot FromRecord(JobRecord r) => new(r) { Version = r.Status.IsFinal() ? long.MaxValue : 0 };

    /// <summary>Stamps the job's next version on the event (under the lock), then announces it (outside).</summary>
    private void Publish(JobState job, JobEvent e)
    {
        long version;
        lock (_gate)
            version = ++job.Version;
        _notifier.Publish(e with { Version = version });
    }
}
