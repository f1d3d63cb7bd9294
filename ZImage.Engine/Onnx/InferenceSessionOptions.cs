using System.Globalization;
using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

public enum ExecutionProvider
{
    Cpu,
    Cuda,
    TensorRT,
}

/// <summary>ORT's GraphOptimizationLevel, same numbers.</summary>
public enum GraphOptimization
{
    None = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

/// <summary>
/// How to open a session. Immutable; one instance may serve many sessions. This is the one place where the engine's
/// wishes become ONNX Runtime settings: the defaults below (<see cref="WithCudaMemoryDefaults"/>,
/// <see cref="WithVaeLayout"/>, <see cref="WithShapeOpsOnCpu"/>, <see cref="ArenaShrinkRunConfig"/>) and the
/// translation into the managed API's SessionOptions (<see cref="CreateOrtOptions"/>).
/// </summary>
public sealed record InferenceSessionOptions
{
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>GPU ordinal for CUDA / TensorRT (their <c>device_id</c> option); ignored on CPU.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Provider options passed as they are: for CUDA e.g. gpu_mem_limit, arena_extend_strategy (kNextPowerOfTwo |
    /// kSameAsRequested), cudnn_conv_algo_search (EXHAUSTIVE | HEURISTIC | DEFAULT), enable_cuda_graph, use_tf32,
    /// sdpa_kernel, prefer_nhwc; for TensorRT trt_* keys. ORT rejects unknown keys by name.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProviderOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>Threads for one operator; 0 lets ORT choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    public GraphOptimization OptimizationLevel { get; init; } = GraphOptimization.All;

    /// <summary>Fixes symbolic dimensions (e.g. batch = 1) so ORT can plan memory and fuse better.</summary>
    public IReadOnlyDictionary<string, long> FreeDimensionOverrides { get; init; } = new Dictionary<string, long>();

    /// <summary>Session config entries (onnxruntime_session_options_config_keys.h), e.g. session.use_env_allocators.</summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();

    /// <summary>Key that stops ORT from silently running nodes on the CPU when a GPU provider was asked for.</summary>
    public const string DisableCpuFallbackKey = "session.disable_cpu_ep_fallback";

    /// <summary>Run config key that hands an arena's free memory back after the run (value: the arena's device, e.g. gpu:0).</summary>
    public const string ArenaShrinkageKey = "memory.enable_memory_arena_shrinkage";

    internal bool IsGpu => Provider is not ExecutionProvider.Cpu;

    /// <summary>
    /// CUDA settings that hold GPU memory to what is asked for, unless the caller set them: arenas grow by the size
    /// requested instead of the next power of two, weights are allocated outside the arenas (so a shrink can return
    /// a whole arena region), and cuDNN convolutions keep to their default workspace instead of the largest one.
    /// Measured on an H100 at 1024x1024, resident (docs/performance.md): 3.6 GB less with the fp32 VAE (which got 32 ms
    /// slower, 142 to 174 ms) and 1.9 GB less with the fp16 one (11 ms slower). Other providers: unchanged.
    /// </summary>
    public InferenceSessionOptions WithCudaMemoryDefaults()
    {
        if (Provider != ExecutionProvider.Cuda)
            return this;
        var provider = new Dictionary<string, string>(ProviderOptions);
        provider.TryAdd("arena_extend_strategy", "kSameAsRequested");
        provider.TryAdd("cudnn_conv_use_max_workspace", "0");
        var config = new Dictionary<string, string>(ConfigEntries);
        config.TryAdd("session.use_device_allocator_for_initializers", "1");
        return this with { ProviderOptions = provider, ConfigEntries = config };
    }

    /// <summary>
    /// An fp16 VAE decoder on CUDA runs its convolutions channels-last (ORT's prefer_nhwc) unless the caller set it:
    /// measured on an H100 at 1024x1024 in lean residency, its peak fell from 25,050 to 23,374 MiB and it ran
    /// faster (176 to 160 ms). An fp32 VAE stays channels-first: there NHWC was slower (131 to 171 ms on an H200).
    /// </summary>
    public InferenceSessionOptions WithVaeLayout(string vaeDtype)
    {
        if (Provider != ExecutionProvider.Cuda || vaeDtype != "fp16" || ProviderOptions.ContainsKey("prefer_nhwc"))
            return this;
        return this with { ProviderOptions = new Dictionary<string, string>(ProviderOptions) { ["prefer_nhwc"] = "1" } };
    }

    /// <summary>
    /// ORT's CUDA provider deliberately leaves shape arithmetic (Shape, Gather, Concat on int64) on the CPU; a strict
    /// no-fallback session refuses such graphs, so real model sessions allow it unless told otherwise.
    /// </summary>
    public InferenceSessionOptions WithShapeOpsOnCpu() =>
        ConfigEntries.ContainsKey(DisableCpuFallbackKey)
            ? this
            : this with { ConfigEntries = new Dictionary<string, string>(ConfigEntries) { [DisableCpuFallbackKey] = "0" } };

    /// <summary>
    /// The run config that shrinks the session's arena after a run (naming the arena's device), or null when the
    /// provider has no such arena. Lean residency passes it on the last run of each stage.
    /// </summary>
    public IReadOnlyDictionary<string, string>? ArenaShrinkRunConfig => Provider switch
    {
        ExecutionProvider.Cpu => new Dictionary<string, string> { [ArenaShrinkageKey] = "cpu:0" },
        ExecutionProvider.Cuda => new Dictionary<string, string> { [ArenaShrinkageKey] = $"gpu:{DeviceId}" },
        _ => null,
    };

    internal void Validate()
    {
        if (!Enum.IsDefined(Provider))
            throw new ArgumentOutOfRangeException(nameof(Provider), Provider, "Provider must be Cpu, Cuda or TensorRT.");
        if (DeviceId < 0)
            throw new ArgumentOutOfRangeException(nameof(DeviceId), DeviceId, "DeviceId must be 0 or more.");
        if (IntraOpThreads < 0)
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be 0 (ORT chooses) or more.");
        if (!Enum.IsDefined(OptimizationLevel))
            throw new ArgumentOutOfRangeException(nameof(OptimizationLevel), OptimizationLevel, "OptimizationLevel must be None, Basic, Extended or All.");
        foreach (var (name, value) in FreeDimensionOverrides)
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(FreeDimensionOverrides), value, $"Free dimension '{name}' must be overridden with 1 or more.");
    }

    /// <summary>
    /// The managed API's SessionOptions for these options, the provider appended. A provider that cannot be loaded
    /// throws <see cref="OnnxRuntimeException"/> naming what is missing (<see cref="ProviderDiagnostics"/>).
    /// The caller disposes the result once the session is created.
    /// </summary>
    internal Ort.SessionOptions CreateOrtOptions(OrtRuntime runtime)
    {
        Validate();
        var options = OrtObjects.Adopt(new Ort.SessionOptions());
        try
        {
            options.GraphOptimizationLevel = (Ort.GraphOptimizationLevel)(int)OptimizationLevel;
            if (IntraOpThreads > 0)
                options.IntraOpNumThreads = IntraOpThreads;
            foreach (var (name, value) in FreeDimensionOverrides)
                options.AddFreeDimensionOverrideByName(name, value);
            foreach (var (key, value) in ConfigEntries)
                options.AddSessionConfigEntry(key, value);
            if (IsGpu && !ConfigEntries.ContainsKey(DisableCpuFallbackKey))
                options.AddSessionConfigEntry(DisableCpuFallbackKey, "1");
            AppendProvider(runtime, options);
            return options;
        }
        catch (Ort.OnnxRuntimeException e)
        {
            OrtObjects.Release(options);
            throw OnnxRuntimeException.From(e, "Session options");
        }
        catch
        {
            OrtObjects.Release(options);
            throw;
        }
    }

    private void AppendProvider(OrtRuntime runtime, Ort.SessionOptions options)
    {
        if (Provider == ExecutionProvider.Cpu)
            return;
        var settings = new Dictionary<string, string>(ProviderOptions);
        settings.TryAdd("device_id", DeviceId.ToString(CultureInfo.InvariantCulture));
        try
        {
            if (Provider == ExecutionProvider.Cuda)
                Append(new Ort.OrtCUDAProviderOptions(), o => o.UpdateOptions(settings), options.AppendExecutionProvider_CUDA);
            else
                Append(new Ort.OrtTensorRTProviderOptions(), o => o.UpdateOptions(settings), options.AppendExecutionProvider_Tensorrt);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            var inner = OnnxRuntimeException.From(e, $"{Provider} provider");
            throw new OnnxRuntimeException(inner.ErrorCode, ProviderDiagnostics.Explain(Provider, runtime.Directory, inner.Message), inner);
        }
    }

    // The provider's own options object lives only while its settings are read and the provider is appended.
    private static void Append<T>(T providerOptions, Action<T> update, Action<T> append) where T : IDisposable
    {
        OrtObjects.Adopt(providerOptions);
        try
        {
            update(providerOptions);
            append(providerOptions);
        }
        finally
        {
            OrtObjects.Release(providerOptions);
        }
    }
}
