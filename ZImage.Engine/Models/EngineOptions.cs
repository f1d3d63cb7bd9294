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

    [Range(0, MaxDevice, ErrorMessage = "ZImage:Engine:DeviceId must be between 0 and 64.")]
    public int DeviceId { get; set; }

    /// <summary>
    /// The graphics cards this process drives, one worker each (e.g. [0,1]): each card gets its own ONNX Runtime sessions
    /// on that device, its own VRAM guard (NVML reads the card of the same number), residency and idle unload, and all
    /// take jobs from the one fair queue. Empty (the default): the one card <see cref="DeviceId"/> names, as before.
    /// Read at start-up; a change needs a restart. docs/scale-out.md.
    /// </summary>
    public List<int> Devices { get; set; } = [];

    public const int MaxDevice = 64;
    public const int MaxDevices = 16;

    public const string DevicesProblem =
        "ZImage:Engine:Devices must list distinct GPU numbers from 0 to 64, at most 16 of them (e.g. [0,1]); leave it empty to use the one card ZImage:Engine:DeviceId names.";

    /// <summary>True when <see cref="Devices"/> is empty or a list of 1 to 16 distinct numbers in 0..64.</summary>
    public bool DevicesAreValid() =>
        Devices.Count <= MaxDevices && Devices.All(d => d is >= 0 and <= MaxDevice) && Devices.Distinct().Count() == Devices.Count;

    /// <summary>The cards in use, in worker order: <see cref="Devices"/>, or the one <see cref="DeviceId"/>.</summary>
    public IReadOnlyList<int> CardDevices => Devices.Count > 0 ? Devices : [DeviceId];

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

    /// <param name="device">The card to open the sessions on; null: <see cref="DeviceId"/>.</param>
    public InferenceSessionOptions ToSessionOptions(OrtRuntime runtime, int? device = null) => new()
    {
        Provider = ResolveProvider(runtime),
        DeviceId = device ?? DeviceId,
        ProviderOptions = new Dictionary<string, string>(ProviderOptions),
        IntraOpThreads = IntraOpThreads,
    };

    /// <summary>The VAE decoder's own options when <see cref="VaeProvider"/> names another provider, else null.</summary>
    public InferenceSessionOptions? ToVaeSessionOptions(OrtRuntime runtime, int? device = null)
    {
        if (VaeProvider is not { } choice)
            return null;
        var provider = Resolve(choice, runtime);
        return provider == ResolveProvider(runtime) ? null : new InferenceSessionOptions
        {
            Provider = provider,
            DeviceId = device ?? DeviceId,
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
