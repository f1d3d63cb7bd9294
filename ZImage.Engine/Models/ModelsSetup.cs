using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Models;

public static class ModelsSetup
{
    /// <summary>
    /// The model catalog (one reading of the configured folder) and the <c>ZImage:Engine</c> options, validated at
    /// start-up; safe to call more than once (the pipeline and the jobs room both need them, the jobs room for
    /// <see cref="EngineOptions.Devices"/>).
    /// </summary>
    public static IServiceCollection AddZImageModels(this IServiceCollection services)
    {
        // Bound once: binding a list twice would append its items twice.
        if (!services.Any(d => d.ServiceType == typeof(IOptionsChangeTokenSource<EngineOptions>)))
        {
            services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section)
                .ValidateDataAnnotations()
                .Validate(o => Enum.IsDefined(o.Provider), "ZImage:Engine:Provider must be Auto, Cpu, Cuda or TensorRT.")
                .Validate(o => o.DevicesAreValid(), EngineOptions.DevicesProblem)
                .ValidateOnStart();
        }
        services.TryAddSingleton<ModelCatalog>(sp => new ModelCatalog(sp.GetRequiredService<IOptionsMonitor<EngineOptions>>(), ContentPaths.Root(sp)));
        services.TryAddSingleton<IModelCatalog>(sp => sp.GetRequiredService<ModelCatalog>());
        return services;
    }
}
