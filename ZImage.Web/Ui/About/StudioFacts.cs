using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.About;

/// <summary>
/// What the About panel tells: this build, the model, the runtime and where pictures are made, and the machine. Read once
/// per opening from the same sources the status bar and Settings read. The model folder is a server path, so it is there
/// only for people who manage the studio.
/// </summary>
public sealed record StudioFacts(
    string AppVersion,
    string? ModelName,
    string? ModelFolder,
    string? ModelDtype,
    bool SelfTestModel,
    string? RuntimeVersion,
    string? RuntimeProblem,
    string ProviderInUse,
    IReadOnlyList<string> ProvidersOffered,
    string? GpuName,
    double? GpuMemoryGb,
    string DotNet)
{
    public static StudioFacts Read(IModelCatalog catalog, IRuntimeInfoSource runtimeSource, ISystemStatus status, EngineOptions engine, bool canManage)
    {
        var model = catalog.Current;
        var manifest = model.Manifest;
        var runtime = runtimeSource.Get();
        var machine = status.GetStatus();
        return new StudioFacts(
            BuildVersion(),
            manifest?.ModelName,
            canManage ? model.Directory : null,
            manifest is null ? null : Dtypes(manifest),
            model.IsSelfTest,
            runtime.Version,
            runtime.Problem,
            ResolveProvider(engine.Provider, runtime),
            [.. runtime.Providers.Select(RuntimeInfo.ShortName)],
            machine.HasGpu ? machine.GpuName : null,
            machine.HasGpu ? Math.Round(machine.VramTotalBytes / 1e9, 1) : null,
            RuntimeInformation.FrameworkDescription);
    }

    /// <summary>The provider the engine's setting means on this machine: Auto resolved, anything else as chosen.</summary>
    public static string ResolveProvider(ProviderChoice choice, RuntimeInfo runtime) => choice switch
    {
        ProviderChoice.Auto => ProviderLabel(runtime.AutoChoice?.ToString() ?? "Cpu"),
        var chosen => ProviderLabel(chosen.ToString()),
    };

    public static string ProviderLabel(string provider) => provider switch
    {
        "Cpu" => "CPU",
        "Cuda" => "CUDA",
        _ => provider,
    };

    /// <summary>"fp16" when the transformer and the decoder agree, else both: "fp16 (decoder fp32)".</summary>
    private static string Dtypes(ModelManifest manifest) =>
        manifest.TransformerDtype == manifest.VaeDtype ? manifest.TransformerDtype : $"{manifest.TransformerDtype} (VAE {manifest.VaeDtype})";

    /// <summary>The build's informational version with the commit cut to its short form: "1.0.0+abc1234".</summary>
    private static string BuildVersion()
    {
        var assembly = typeof(StudioFacts).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus >= 0 && version.Length > plus + 8 ? version[..(plus + 8)] : version;
    }

    public string GpuMemoryText => GpuMemoryGb?.ToString("0.0", CultureInfo.InvariantCulture) ?? "";
}
