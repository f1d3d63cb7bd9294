using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// The pipeline the jobs worker sees: the model folder and provider named in ZImage:Engine, opened on first use and
/// re-opened when Settings change them. With no model configured the app still runs and every run fails with a
/// sentence pointing at Settings. Also the model's state for the status bar. The host owns the sessions: with
/// <see cref="EngineOptions.IdleUnloadMinutes"/> set, the pipeline (and with it every ONNX Runtime session) is disposed
/// after that long without a run, and the next run opens it again; the cold start is measured and kept.
/// </summary>
public sealed class PipelineHost : IImagePipeline, IModelStatus, IDisposable
{
    private readonly IOptionsMonitor<EngineOptions> _options;
    private readonly IModelCatalog _catalog;
    private readonly Func<OrtRuntime> _runtime;
    private readonly IVramGuard _guard;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly IDisposable? _subscription;
    private readonly TimeProvider _clock;
    private readonly IModelLoadRecord _loads;
    private Lease? _current;
    // Every pipeline made here whose sessions were not disposed yet: the current one and retired ones still finishing a run.
    private readonly List<Lease> _open = [];
    private volatile bool _loading;
    private volatile bool _unloaded;
    private string? _lastError;
    private ITimer? _idleTimer;
    private DateTimeOffset _lastUsed;
    // The card this host opens its sessions on; null: whatever ZImage:Engine:DeviceId says now.
    private readonly int? _device;

    public PipelineHost(IOptionsMonitor<EngineOptions> options, IModelCatalog catalog, Func<OrtRuntime> runtime, IVramGuard guard, ILoggerFactory loggers,
        TimeProvider? clock = null, IModelLoadRecord? loads = null, int? device = null)
    {
        _device = device;
        _options = options;
        _catalog = catalog;
        _runtime = runtime;
        _guard = guard;
        _loggers = loggers;
        _clock = clock ?? TimeProvider.System;
        _loads = loads ?? new MemoryModelLoadRecord();
        _logger = loggers.CreateLogger<PipelineHost>();
        // Sessions hold GBs on the GPU: drop them as soon as the folder or provider changes, not at the next run. Other
        // settings (the idle minutes among them) leave the loaded model alone.
        _subscription = options.OnChange(o =>
        {
            if (_current is not { } current || current.Key != KeyOf(o))
                Reset();
            else
                ScheduleIdleUnload();
        });
        // A re-read (an install replaced the folder in place) also means the open sessions are stale.
        _catalog.Changed += Reset;
    }

    /// <summary>Sessions open right now, across the current pipeline and retired ones still finishing a run.</summary>
    public int OpenSessionCount
    {
        get
        {
            lock (_lock)
                return _open.Sum(l => l.Pipeline.OpenSessionCount);
        }
    }

    public TimeSpan? LoadEstimate => _loadedOnce && !_loading ? null : _loads.Last;

    public ModelState State
    {
        get
        {
            var model = _catalog.Current;
            if (!model.IsSet)
                return ModelState.NotInstalled;
            if (_loading)
                return ModelState.Loading;
            if (_lastError is not null)
                return ModelState.Error;
            if (!model.IsUsable)
                return ModelState.Error;
            return _unloaded ? ModelState.Unloaded : ModelState.Ready;
        }
    }

    public string? Detail
    {
        get
        {
            var model = _catalog.Current;
            if (!model.IsSet)
                return "no model is installed";
            if (_loading)
                return _loads.Last is { } load ? $"loading the model (≈ {Math.Ceiling(load.TotalSeconds):0} s)" : "model loading…";
            if (_unloaded)
                return _loads.Last is { } next
                    ? $"unloaded after {_options.CurrentValue.IdleUnloadMinutes} idle minutes; the next picture loads it (≈ {Math.Ceiling(next.TotalSeconds):0} s)"
                    : $"unloaded after {_options.CurrentValue.IdleUnloadMinutes} idle minutes; the next picture loads it";
            if (_lastError is not null)
                return _lastError;
            return model.IsUsable
                ? $"{model.Manifest!.ModelName}{(model.IsSelfTest ? " (self-test, random weights)" : "")}, {Describe(_options.CurrentValue.Provider)}"
                : model.Describe();
        }
    }

    private static string Describe(ProviderChoice provider) => provider switch
    {
        ProviderChoice.Auto => "graphics card when available",
        ProviderChoice.Cpu => "on the processor",
        ProviderChoice.Cuda => "on CUDA",
        ProviderChoice.TensorRT => "on TensorRT",
        _ => provider.ToString(),
    };

    public Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        RunAsync(request, progress, finished: null, ct);

    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress,
        IProgress<FinishedImage>? finished, CancellationToken ct)
    {
        var lease = Acquire();
        var pipeline = lease.Pipeline;
        // Sessions open lazily inside the first run; until its first step the status bar says "model loading…".
        var loading = !_loadedOnce;
        _loading = loading;
        _unloaded = false;
        long started = _clock.GetTimestamp();
        try
        {
            // The first step of a cold run marks the end of loading (the sessions are open): its time is the cold start
            // the next ETA uses, and from here on no job waits for a load on this card.
            var forward = loading || progress is not null
                ? new ForwardProgress(progress, loading ? () => { _loadedOnce = true; _loading = false; _loads.Save(_clock.GetElapsedTime(started)); } : null)
                : null;
            var result = await pipeline.RunAsync(request, forward, finished, ct);
            _loadedOnce = true;
            _lastError = null;
            return result;
        }
        catch (OnnxRuntimeException e) when (!ct.IsCancellationRequested)
        {
            _lastError = e.Message;
            if (OrtFailures.IsCardFault(e))
                RetireAfterCardFault(lease);
            throw;
        }
        finally
        {
            _loading = false;
            Release(lease);
        }
    }

    private volatile bool _loadedOnce;

    /// <summary>
    /// A pipeline and the runs using it. A settings change retires it, but its sessions are released only when its
    /// last run ends: a model switch never pulls the sessions from under a run in flight.
    /// </summary>
    private sealed class Lease(ZImagePipeline pipeline, string key)
    {
        public ZImagePipeline Pipeline { get; } = pipeline;
        public string Key { get; } = key;
        public int Active;
        public bool Retired;
    }

    private Lease Acquire()
    {
        lock (_lock)
        {
            var lease = Current();
            lease.Active++;
            return lease;
        }
    }

    private void Release(Lease lease)
    {
        lock (_lock)
        {
            if (--lease.Active == 0 && lease.Retired)
                DisposeLocked(lease);
            _lastUsed = _clock.GetUtcNow();
        }
        ScheduleIdleUnload();
    }

    /// <summary>
    /// The card failed (<see cref="OrtFailures.IsCardFault"/>): its sessions may be unusable (a lost CUDA context), so the
    /// next run, after the card's pause, loads the model afresh. Disposed when the failed run lets go of it.
    /// </summary>
    private void RetireAfterCardFault(Lease lease)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_current, lease))
                return;
            RetireCurrentLocked();
        }
    }

    /// <summary>A check that came early looks again this long after the due time, past any timer's early firing.</summary>
    private static readonly TimeSpan EarlyCheckSlack = TimeSpan.FromSeconds(1);

    /// <summary>(Re)arms the idle timer from the last run's end, <paramref name="slack"/> after the due time; off when the setting is 0.</summary>
    private void ScheduleIdleUnload(TimeSpan slack = default)
    {
        var minutes = _options.CurrentValue.IdleUnloadMinutes;
        lock (_lock)
        {
            _idleTimer?.Dispose();
            _idleTimer = null;
            if (minutes <= 0 || _current is null)
                return;
            var due = _lastUsed + TimeSpan.FromMinutes(minutes) - _clock.GetUtcNow() + slack;
            _idleTimer = _clock.CreateTimer(_ => UnloadIfIdle(), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Disposes the pipeline and so every session it opened (the GPU memory goes back with them) when no run holds it
    /// and the idle time has passed; a run that started meanwhile re-arms the timer when it ends.
    /// </summary>
    private void UnloadIfIdle()
    {
        var minutes = _options.CurrentValue.IdleUnloadMinutes;
        bool early;
        lock (_lock)
        {
            if (minutes <= 0 || _current is not { Active: 0 })
                return;
            // A timer may fire a little before its due time (the timer queue counts coarse milliseconds); an idle check
            // that just returned then would leave the model loaded for good, so it looks again a moment after the time is up.
            early = _clock.GetUtcNow() - _lastUsed < TimeSpan.FromMinutes(minutes);
            if (!early)
            {
                RetireCurrentLocked();
                _unloaded = true;
            }
        }
        if (early)
        {
            ScheduleIdleUnload(EarlyCheckSlack);
            return;
        }
        _guard.ReportLoadedModelBytes(0);
        _logger.LogInformation("No job for {Minutes} minutes: the model was unloaded and its GPU memory released", minutes);
    }

    /// <summary>
    /// The current pipeline is let go (settings changed, idle minutes, a card fault, shutdown): retired, and the next run
    /// opens a new one and counts as a cold start again. Under <see cref="_lock"/>.
    /// </summary>
    private void RetireCurrentLocked()
    {
        Retire(_current);
        _current = null;
        _loadedOnce = false;
    }

    private void Retire(Lease? lease)
    {
        if (lease is null)
            return;
        lease.Retired = true;
        if (lease.Active == 0)
            DisposeLocked(lease);
    }

    /// <summary>Disposes the pipeline's sessions; only then does it leave <see cref="OpenSessionCount"/>'s list. Under <see cref="_lock"/>.</summary>
    private void DisposeLocked(Lease lease)
    {
        lease.Pipeline.Dispose();
        _open.Remove(lease);
    }

    /// <summary>The pipeline for the current settings, opened if they changed. Called under <see cref="_lock"/>.</summary>
    private Lease Current()
    {
        var o = _options.CurrentValue;
        var model = _catalog.Current;
        var key = KeyOf(o);
        {
            if (_current is not null && _current.Key == key)
                return _current;
            RetireCurrentLocked();
            if (model.Directory is not { } directory)
                throw new InvalidOperationException("No model is installed yet: open Settings to choose a model folder or the self-test model.");
            if (!model.IsUsable)
                throw Unusable(model);
            ModelFolder folder;
            try
            {
                // Loading reads the disk as it is now; what the catalog read earlier may be out of date.
                folder = ModelFolder.Open(directory);
            }
            catch (ModelFolderException)
            {
                _catalog.Refresh();
                throw Unusable(_catalog.Current);
            }
            var runtime = _runtime();
            var pipeline = new ZImagePipeline(folder, runtime, o.ToSessionOptions(runtime, _device),
                request => _guard.DecideResidency(request).Mode, _loggers.CreateLogger<ZImagePipeline>(),
                o.ToVaeSessionOptions(runtime, _device));
            _guard.ReportLoadedModelBytes(folder.PartBytes(folder.Manifest.TextEncoder) + folder.PartBytes(folder.Manifest.Transformer) + folder.PartBytes(folder.Manifest.VaeDecoder));
            _current = new Lease(pipeline, key);
            _open.Add(_current);
            _lastError = null;
            _logger.LogInformation("Model {Model} from {Folder} on {Provider}", folder.Manifest.ModelName, folder.Directory, o.Provider);
            return _current;
        }
    }

    /// <summary>The model and settings that make a different pipeline; any other change keeps the loaded one.</summary>
    private string KeyOf(EngineOptions o) =>
        $"{_catalog.Current.Directory}|{o.Provider}|{_device ?? o.DeviceId}|{string.Join(",", o.ProviderOptions.Select(kv => kv.Key + "=" + kv.Value))}|{o.IntraOpThreads}|{o.VaeProvider}";

    /// <summary>The job's error: what is wrong, without the server's paths (the person who queued it may not be an administrator).</summary>
    private static ModelFolderException Unusable(ModelEntry model) =>
        new($"{ModelEntry.UnusablePrefix}{model.Describe()}. An administrator can fix it in Settings.", [.. model.Problems.Select(p => p.Subject)]);

    private void Reset()
    {
        lock (_lock)
        {
            RetireCurrentLocked();
            _lastError = null;
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        lock (_lock)
            _idleTimer?.Dispose();
        _catalog.Changed -= Reset;
        Reset();
    }

    /// <summary>Passes progress on and notes the first step (by then the sessions are open: loading is over).</summary>
    private sealed class ForwardProgress(IProgress<GenerationProgress>? inner, Action? onFirst) : IProgress<GenerationProgress>
    {
        private Action? _onFirst = onFirst;

        public void Report(GenerationProgress value)
        {
            Interlocked.Exchange(ref _onFirst, null)?.Invoke();
            inner?.Report(value);
        }
    }
}
