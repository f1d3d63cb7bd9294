using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ZImage.Engine.Models.Install.Hub;

public static class HubSetup
{
    /// <summary>The checkpoint downloader behind <see cref="ICheckpointDownloader"/>. Options: <c>ZImage:Install:Hub</c>.</summary>
    public static IServiceCollection AddZImageHubDownloads(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration; // options bind through BindConfiguration, which reads the host's IConfiguration
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<CheckpointDownloader>();
        services.TryAddSingleton<ICheckpointDownloader>(sp => sp.GetRequiredService<CheckpointDownloader>());
        return services;
    }
}
