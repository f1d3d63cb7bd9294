namespace ZImage.Engine.Onnx;

public enum ExecutionProvider
{
    Cpu,
    Cuda,
    TensorRT,
    WebGpu,
}

/// <summary>ORT's GraphOptimizationLevel, same numbers.</summary>
public enum GraphOptimization
{
    None = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

/// <summary>How to open a session. Immutable; one instance may serve many sessions.</summary>
public sealed record InferenceSessionOptions
{
    public ExecutionProvider Provider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>GPU ordinal for CUDA / TensorRT (their <c>device_id</c> option); ignored on CPU.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Provider options passed as they are: for CUDA e.g. gpu_mem_limit, arena_extend_strategy (kNextPowerOfTwo |
    /// kSameAsRequested), cudnn_conv_algo_search (EXHAUSTIVE | HEURISTIC | DEFAULT), enable_cuda_graph, use_tf32,
    /// sdpa_kernel, prefer_nhwc; for TensorRT trt_* keys; for WebGPU its own keys. ORT rejects unknown keys by name.
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

    internal bool IsGpu => Provider is not ExecutionProvider.Cpu;

    internal void Validate()
    {
        if (!Enum.IsDefined(Provider))
            throw new ArgumentOutOfRangeException(nameof(Provider), Provider, "Provider must be Cpu, Cuda, TensorRT or WebGpu.");
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
}
