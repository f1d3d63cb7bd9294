using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// The engine's jobs room without the web server, as the benchmarks and the scale-out worker host it: built, then started
/// through <see cref="JobsStartup"/> (migration, recovery, reconciliation) like a host would. The caller starts the worker.
/// </summary>
internal static class JobsRoom
{
    public static async Task<ServiceProvider> StartAsync(IImagePipeline pipeline, IReadOnlyDictionary<string, string?> settings, ILoggerFactory? loggers = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(loggers ?? NullLoggerFactory.Instance)
            .AddSingleton(pipeline)
            .AddZImageJobs(configuration);
        if (loggers is null)
            services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        else
            services.AddLogging();
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            await provider.StartJobsRoomAsync();
            return provider;
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }
}
