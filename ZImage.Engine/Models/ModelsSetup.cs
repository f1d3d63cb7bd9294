using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Models;

public static class ModelsSetup
{
    /// <summary>The model catalog (one reading of the configured folder); safe to call more than once.</summary>
    public static IServiceCollection AddZImageModels(this IServiceCollection services)
    {
        services.TryAddSingleton<ModelCatalog>(sp => new ModelCatalog(sp.GetRequiredService<IOptionsMonitor<EngineOptions>>(), ContentPaths.Root(sp)));
        services.TryAddSingleton<IModelCatalog>(sp => sp.GetRequiredService<ModelCatalog>());
        return services;
    }
}
