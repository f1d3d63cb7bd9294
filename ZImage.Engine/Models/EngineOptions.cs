using System.ComponentModel.DataAnnotations;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Models;

/// <summary>Which model and which execution provider, under <c>ZImage:Engine</c>.</summary>
public sealed class EngineOptions
{
    public const string Section = "ZImage:Engine";

    /// <summary>A folder made by tools/export (docs/model-format.md). Empty: no model installed yet; the app still runs.</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Auto takes CUDA when ONNX Runtime offers it and its provider library and the CUDA libraries load here, else the CPU.</summary>
    public ProviderChoice Provider { get; set; } = ProviderChoice.Auto;

    /// <summary>
    /// Null: the VAE decoder runs where the rest does. Otherwise its own provider, without ProviderOptions (e.g. the
    /// CPU, to keep the decoder's workspace off a full GPU).
    /// </summary>
    public ProviderChoice? VaeProvider { get; set; }

    [Range(0, 64, ErrorMessage = "ZImage:Engine:DeviceId must be between 0 and 64.")]
    public int DeviceId { get; set; }

    /// <summary>Passed to the provider as they are (e.g. CUDA's use_tf32, sdpa_kernel, enable_cuda_graph).</summary>
    public Dictionary<string, string> ProviderOptions { get; set; } = [];

    [Range(0, 1024, ErrorMessage = "ZImage:Engine:IntraOpThreads must be between 0 (ONNX Runtime chooses) and 1024.")]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Minutes without a job after which every ONNX Runtime session is disposed and the GPU memory given back; the next
    /// job loads the model again. 0 (the default) keeps the model loaded, as a dedicated box wants.
    /// </summary>
    [Range(0, MaxIdleUnloadMinutes, ErrorMessage = "ZImage:Engine:IdleUnloadMinutes must be between 0 (never unload) and 1440.")]
    public int IdleUnloadMinutes { get; set; }

    public const int MaxIdleUnloadMinutes = 1440;

    public ExecutionProvider ResolveProvider(OrtRuntime runtime) => Resolve(Provider, runtime);

    private static ExecutionProvider Resolve(ProviderChoice choice, OrtRuntime runtime) => choice switch
    {
        ProviderChoice.Cpu => ExecutionProvider.Cpu,
        ProviderChoice.Cuda => ExecutionProvider.Cuda,
        ProviderChoice.TensorRT => ExecutionProvider.TensorRT,
        // The GPU build always lists CUDA and the build always copies its provider library; only a machine whose
        // driver, CUDA runtime and cuDNN load can use it.
        _ => runtime.AvailableProviders.Contains("CUDAExecutionProvider")
             && ProviderDiagnostics.CanRun(ExecutionProvider.Cuda, runtime.Directory)
            ? ExecutionProvider.Cuda
            : ExecutionProvider.Cpu,
    };

    public InferenceSessionOptions ToSessionOptions(OrtRuntime runtime) => new()
    {
        Provider = ResolveProvider(runtime),
        DeviceId = DeviceId,
        ProviderOptions = new Dictionary<string, string>(ProviderOptions),
        IntraOpThreads = IntraOpThreads,
    };

    /// <summary>The VAE decoder's own options when <see cref="VaeProvider"/> names another provider, else null.</summary>
    public InferenceSessionOptions? ToVaeSessionOptions(OrtRuntime runtime)
    {
        if (VaeProvider is not { } choice)
            return null;
        var provider = Resolve(choice, runtime);
        return provider == ResolveProvider(runtime) ? null : new InferenceSessionOptions
        {
            Provider = provider,
            DeviceId = DeviceId,
            IntraOpThreads = IntraOpThreads,
        };
    }
}

/// <summary>What Settings offers: a provider, or Auto (the GPU when this machine can use it).</summary>
public enum ProviderChoice
{
    Auto,
    Cpu,
    Cuda,
    TensorRT,
}
