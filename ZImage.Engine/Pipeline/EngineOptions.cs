using System.ComponentModel.DataAnnotations;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>Which model and which execution provider, under <c>ZImage:Engine</c>.</summary>
public sealed class EngineOptions
{
    public const string Section = "ZImage:Engine";

    /// <summary>A folder made by tools/export (docs/model-format.md). Empty: no model installed yet; the app still runs.</summary>
    public string? ModelDirectory { get; set; }

    public ExecutionProvider Provider { get; set; } = ExecutionProvider.Cpu;

    [Range(0, 64, ErrorMessage = "ZImage:Engine:DeviceId must be between 0 and 64.")]
    public int DeviceId { get; set; }

    /// <summary>Passed to the provider as they are (e.g. CUDA's use_tf32, sdpa_kernel, enable_cuda_graph).</summary>
    public Dictionary<string, string> ProviderOptions { get; set; } = [];

    [Range(0, 1024, ErrorMessage = "ZImage:Engine:IntraOpThreads must be between 0 (ONNX Runtime chooses) and 1024.")]
    public int IntraOpThreads { get; set; }

    public InferenceSessionOptions ToSessionOptions() => new()
    {
        Provider = Provider,
        DeviceId = DeviceId,
        ProviderOptions = new Dictionary<string, string>(ProviderOptions),
        IntraOpThreads = IntraOpThreads,
    };
}
