using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>The engine's jobs room without the web server, as the benchmarks and the scale-out worker host it.</summary>
internal static class JobsRoom
{
    public static ServiceProvider Build(IImagePipeline pipeline, IReadOnlyDictionary<string, string?> settings, ILoggerFactory? loggers = null)
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
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}
