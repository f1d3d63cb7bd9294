using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Models.Install;

public static class InstallSetup
{
    /// <summary>
    /// The install service and its check, disk and options. The downloader and the converter
    /// (<see cref="ICheckpointDownloader"/>, <see cref="ICheckpointConverter"/>) are registered by their own setup;
    /// without them <see cref="IsAvailable"/> is false and Settings and the command say the installer is missing.
    /// </summary>
    public static IServiceCollection AddZImageInstaller(this IServiceCollection services, Func<IServiceProvider, InstallOptions> options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IDiskSpace, DriveDiskSpace>();
        services.TryAddSingleton<InstallOptions>(options);
        services.TryAddSingleton<IInstallCheck>(sp => new PipelineInstallCheck(
            () => sp.GetRequiredService<OrtRuntime>(),
            () => sp.GetRequiredService<IOptionsMonitor<EngineOptions>>().CurrentValue,
            sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
        services.TryAddSingleton(sp => new ModelInstallService(
            sp.GetRequiredService<ICheckpointDownloader>(),
            sp.GetRequiredService<ICheckpointConverter>(),
            sp.GetRequiredService<IInstallCheck>(),
            sp.GetService<IModelActivator>(),
            sp.GetRequiredService<IDiskSpace>(),
            sp.GetRequiredService<InstallOptions>(),
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>Both parts are registered, so the service can be made.</summary>
    public static bool IsAvailable(IServiceProvider services) =>
        services.GetService<ICheckpointDownloader>() is not null && services.GetService<ICheckpointConverter>() is not null;
}
