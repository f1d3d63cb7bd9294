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
/// sentence pointing at Settings. Also the model's state for the status bar.
/// </summary>
public sealed class PipelineHost : IImagePipeline, IModelStatus, IDisposable
{
    private readonly IOptionsMonitor<EngineOptions> _options;
    private readonly Func<OrtRuntime> _runtime;
    private readonly IVramGuard _guard;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly IDisposable? _subscription;
    private ZImagePipeline? _pipeline;
    private string? _openedFor;
    private volatile bool _loading;
    private string? _lastError;

    public PipelineHost(IOptionsMonitor<EngineOptions> options, Func<OrtRuntime> runtime, IVramGuard guard, ILoggerFactory loggers)
    {
        _options = options;
        _runtime = runtime;
        _guard = guard;
        _loggers = loggers;
        _logger = loggers.CreateLogger<PipelineHost>();
        // Sessions hold GBs on the GPU: drop them as soon as the folder or provider changes, not at the next run.
        _subscription = options.OnChange(_ => Reset());
    }

    public ModelState State
    {
        get
        {
            var o = _options.CurrentValue;
            if (string.IsNullOrWhiteSpace(o.ModelDirectory))
                return ModelState.NotInstalled;
            if (_loading)
                return ModelState.Loading;
            if (_lastError is not null)
                return ModelState.Error;
            return ModelFolder.Inspect(o.ModelDirectory).Healthy ? ModelState.Ready : ModelState.Error;
        }
    }

    public string? Detail
    {
        get
        {
            var o = _options.CurrentValue;
            if (string.IsNullOrWhiteSpace(o.ModelDirectory))
                return "no model is installed";
            if (_loading)
                return "model loading…";
            if (_lastError is not null)
                return _lastError;
            var health = ModelFolder.Inspect(o.ModelDirectory);
            return health.Healthy
                ? $"{health.Manifest!.ModelName}{(health.Manifest.RandomWeights ? " (self-test, random weights)" : "")} on {o.Provider}"
                : health.Problems[0];
        }
    }

    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var pipeline = Current();
        // Sessions open lazily inside the first run; until its first step the status bar says "model loading…".
        var loading = !_loadedOnce;
        _loading = loading;
        try
        {
            var forward = loading || progress is not null ? new ForwardProgress(progress, loading ? () => _loading = false : null) : null;
            var result = await pipeline.RunAsync(request, forward, ct);
            _loadedOnce = true;
            _lastError = null;
            return result;
        }
        catch (OnnxRuntimeException e) when (!ct.IsCancellationRequested)
        {
            _lastError = e.Message;
            throw;
        }
        finally
        {
            _loading = false;
        }
    }

    private volatile bool _loadedOnce;

    private ZImagePipeline Current()
    {
        var o = _options.CurrentValue;
        var key = $"{o.ModelDirectory}|{o.Provider}|{o.DeviceId}|{string.Join(",", o.ProviderOptions.Select(kv => kv.Key + "=" + kv.Value))}|{o.IntraOpThreads}|{o.VaeProvider}";
        lock (_lock)
        {
            if (_pipeline is not null && _openedFor == key)
                return _pipeline;
            _pipeline?.Dispose();
            _pipeline = null;
            _loadedOnce = false;
            if (string.IsNullOrWhiteSpace(o.ModelDirectory))
                throw new InvalidOperationException("No model is installed yet: open Settings to choose a model folder or the self-test model.");
            var folder = ModelFolder.Open(o.ModelDirectory);
            var runtime = _runtime();
            _pipeline = new ZImagePipeline(folder, runtime, o.ToSessionOptions(runtime),
                request => _guard.DecideResidency(request).Mode, _loggers.CreateLogger<ZImagePipeline>(),
                o.ToVaeSessionOptions(runtime));
            _guard.ReportLoadedModelBytes(folder.PartBytes(folder.Manifest.TextEncoder) + folder.PartBytes(folder.Manifest.Transformer) + folder.PartBytes(folder.Manifest.VaeDecoder));
            _openedFor = key;
            _lastError = null;
            _logger.LogInformation("Model {Model} from {Folder} on {Provider}", folder.Manifest.ModelName, folder.Directory, o.Provider);
            return _pipeline;
        }
    }

    private void Reset()
    {
        lock (_lock)
        {
            _pipeline?.Dispose();
            _pipeline = null;
            _openedFor = null;
            _lastError = null;
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
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
