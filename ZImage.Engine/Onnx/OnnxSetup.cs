using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ZImage.Engine.Onnx;

/// <summary>Settings of the native runtime, under ZImage:Engine.</summary>
public sealed class OnnxRuntimeOptions
{
    public const string Section = "ZImage:Engine";

    /// <summary>Folder holding libonnxruntime.so (and the CUDA provider libraries); unset: ZIMAGE_ORT_DIR, else the NuGet package's runtimes/linux-x64/native/ beside the app.</summary>
    public string? OnnxRuntimeDirectory { get; set; }
}

public static class OnnxSetup
{
    /// <summary>Registers <see cref="OrtRuntime"/> (loaded on first use) and validates ZImage:Engine:OnnxRuntimeDirectory at start-up.</summary>
    public static IServiceCollection AddZImageOnnx(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OnnxRuntimeOptions>()
            .Bind(configuration.GetSection(OnnxRuntimeOptions.Section))
            .Validate(o => string.IsNullOrWhiteSpace(o.OnnxRuntimeDirectory)
                    || OrtRuntime.FindLibrary(o.OnnxRuntimeDirectory) is not null,
                $"ZImage:Engine:OnnxRuntimeDirectory must name a folder that holds {OrtRuntime.LibraryFileName}; leave it empty to use ZIMAGE_ORT_DIR or the copy the build puts beside the app.")
            .ValidateOnStart();
        services.AddSingleton(sp => OrtRuntime.Load(
            sp.GetRequiredService<IOptions<OnnxRuntimeOptions>>().Value.OnnxRuntimeDirectory,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("ZImage.Engine.Onnx")));
        return services;
    }
}
