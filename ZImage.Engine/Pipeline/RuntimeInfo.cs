using ZImage.Engine.Models;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// What the ONNX Runtime library on this machine offers. <paramref name="Problem"/> is set (and the rest empty) when
/// the library could not be loaded: a sentence for a person, e.g. the file that is missing.
/// </summary>
/// <param name="Providers">Execution providers compiled into the library, e.g. CUDAExecutionProvider, CPUExecutionProvider.</param>
/// <param name="AutoChoice">What the Auto setting would use here; null when the runtime is not loaded.</param>
public sealed record RuntimeInfo(string? Version, IReadOnlyList<string> Providers, ExecutionProvider? AutoChoice, string? Problem)
{
    public bool Loaded => Problem is null;

    /// <summary>"CUDAExecutionProvider" → "CUDA": what a person reads (ORT spells some names differently from their makers).</summary>
    public static string ShortName(string provider) => provider switch
    {
        "TensorrtExecutionProvider" => "TensorRT",
        _ when provider.EndsWith("ExecutionProvider", StringComparison.Ordinal) => provider[..^"ExecutionProvider".Length],
        _ => provider,
    };
}

/// <summary>The runtime's providers for Settings, the status bar and /api/v1/system.</summary>
public interface IRuntimeInfoSource
{
    RuntimeInfo Get();
}

/// <summary>
/// Loads the runtime on first ask, not at start-up: a machine without the library must still open the app and say so
/// in a readable line, rather than fail to start. The answer is kept (the library cannot be unloaded or reloaded in a
/// process), so a library installed later shows after a restart.
/// </summary>
public sealed class OrtRuntimeInfoSource(Func<OrtRuntime> runtime) : IRuntimeInfoSource
{
    private readonly Lazy<RuntimeInfo> _info = new(() => Describe(runtime), LazyThreadSafetyMode.ExecutionAndPublication);

    public RuntimeInfo Get() => _info.Value;

    private static RuntimeInfo Describe(Func<OrtRuntime> load)
    {
        try
        {
            var r = load();
            return new RuntimeInfo(r.Version, r.AvailableProviders, new EngineOptions { Provider = ProviderChoice.Auto }.ResolveProvider(r), null);
        }
        // Load reports a missing or unusable library as OnnxRuntimeException and a second folder as InvalidOperationException;
        // DllNotFoundException/BadImageFormatException come from a library that exists but cannot be mapped.
        catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or DllNotFoundException or BadImageFormatException)
        {
            return new RuntimeInfo(null, [], null, e.Message);
        }
    }
}
