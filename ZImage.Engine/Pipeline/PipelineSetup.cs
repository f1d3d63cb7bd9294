using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

public static class PipelineSetup
{
    /// <summary>
    /// The real pipeline behind <see cref="IImagePipeline"/> and the model's state behind <see cref="IModelStatus"/>
    /// (the first card's), and the factory that gives every further card of <see cref="EngineOptions.Devices"/> its own.
    /// Call before AddZImageJobs, whose fallbacks (no-model pipeline, unknown status) are registered only if absent.
    /// </summary>
    public static IServiceCollection AddZImagePipeline(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration;
        services.AddZImageModels();
        services.TryAddSingleton(sp => new PipelineHost(
            sp.GetRequiredService<IOptionsMonitor<EngineOptions>>(),
            sp.GetRequiredService<IModelCatalog>(),
            () => sp.GetRequiredService<OrtRuntime>(),
            sp.GetRequiredService<Memory.IVramGuard>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<IModelLoadRecord>(),
            GpuCards.FirstSessionDevice(sp.GetRequiredService<IOptions<EngineOptions>>().Value)));
        services.TryAddSingleton<IImagePipeline>(sp => sp.GetRequiredService<PipelineHost>());
        services.TryAddSingleton<IModelStatus>(sp => sp.GetRequiredService<PipelineHost>());
        services.TryAddSingleton<IGpuCardFactory, PipelineCardFactory>();
        services.TryAddSingleton<IRuntimeInfoSource>(sp => new OrtRuntimeInfoSource(() => sp.GetRequiredService<OrtRuntime>()));
        return services;
    }
}
