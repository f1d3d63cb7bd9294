using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

public static class PipelineSetup
{
    /// <summary>
    /// The real pipeline behind <see cref="IImagePipeline"/> and the model's state behind <see cref="IModelStatus"/>.
    /// Call before AddZImageJobs, whose fallbacks (no-model pipeline, unknown status) are registered only if absent.
    /// </summary>
    public static IServiceCollection AddZImagePipeline(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration;
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => Enum.IsDefined(o.Provider), "ZImage:Engine:Provider must be Auto, Cpu, Cuda or TensorRT.")
            .ValidateOnStart();
        services.AddZImageModels();
        services.TryAddSingleton(sp => new PipelineHost(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<EngineOptions>>(),
            sp.GetRequiredService<Models.IModelCatalog>(),
            () => sp.GetRequiredService<OrtRuntime>(),
            sp.GetRequiredService<Memory.IVramGuard>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<IModelLoadRecord>()));
        services.TryAddSingleton<IImagePipeline>(sp => sp.GetRequiredService<PipelineHost>());
        services.TryAddSingleton<IModelStatus>(sp => sp.GetRequiredService<PipelineHost>());
        services.TryAddSingleton<IRuntimeInfoSource>(sp => new OrtRuntimeInfoSource(() => sp.GetRequiredService<OrtRuntime>()));
        return services;
    }
}
