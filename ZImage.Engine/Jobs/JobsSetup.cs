using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

public static class JobsSetup
{
    /// <summary>
    /// Jobs, VRAM guard, history store and retention. Options: <c>ZImage:Jobs</c> and <c>ZImage:Memory</c>.
    /// Registers fallbacks (no-model pipeline, interim PNG writer, unknown model status) only when nothing else is registered.
    /// </summary>
    public static IServiceCollection AddZImageJobs(this IServiceCollection services, IConfiguration configuration)
    {
        _ = configuration; // options bind through BindConfiguration, which reads the host's IConfiguration
        services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<VramOptions>().BindConfiguration(VramOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<UsageOptions>().BindConfiguration(UsageOptions.Section).ValidateDataAnnotations()
            .Validate(o => Enum.IsDefined(o.PriceForm), "ZImage:Usage:PriceForm must be PerGpuHour or Energy.").ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISeedSource, RandomSeedSource>();
        services.AddZImageModels();
        services.TryAddSingleton<IGpuMemoryProbe>(sp => new NvmlMemoryProbe(
            GpuCards.FirstMemoryIndex(sp.GetRequiredService<IOptions<EngineOptions>>().Value, sp.GetRequiredService<IOptions<VramOptions>>().Value),
            sp.GetRequiredService<ILogger<NvmlMemoryProbe>>()));
        services.TryAddSingleton<IModelFootprintSource, OptionsModelFootprintSource>();
        services.TryAddSingleton<VramGuard>();
        services.TryAddSingleton<IVramGuard>(sp => sp.GetRequiredService<VramGuard>());
        services.TryAddSingleton<IImagePipeline, NoModelPipeline>();
        services.TryAddSingleton<IImageWriter>(_ => new PngImageWriter());
        services.TryAddSingleton<IModelStatus, UnknownModelStatus>();
        // One worker per card of ZImage:Engine:Devices; without the pipeline room further cards can only say why nothing is made.
        services.TryAddSingleton<IGpuCardFactory, NoModelCardFactory>();
        services.TryAddSingleton(GpuCards.Create);

        services.TryAddSingleton(sp => new ImageFiles(ResolvePath(sp, PictureFolder(sp))));
        // One object serves the store interfaces (jobs, pictures, timings, people, batches): SQLite by default, PostgreSQL when ZImage:Store says so.
        services.TryAddSingleton<IJobStore>(sp =>
        {
            var store = sp.GetRequiredService<IOptions<StoreOptions>>().Value;
            string outputRoot = sp.GetRequiredService<ImageFiles>().OutputRoot;
            string data = ResolvePath(sp, sp.GetRequiredService<IOptions<JobsOptions>>().Value.DataDirectory);
            return store.Provider switch
            {
                StoreProvider.PostgreSql => new PostgresJobStore(store.ConnectionString!, outputRoot),
                _ => new SqliteJobStore(Path.Combine(data, "zimage.db"), outputRoot, legacyPeopleFolder: data),
            };
        });
        services.TryAddSingleton(sp => (IPictureStore)sp.GetRequiredService<IJobStore>());
        services.TryAddSingleton(sp => (ITimingStore)sp.GetRequiredService<IJobStore>());
        services.TryAddSingleton(sp => (IPeopleStore)sp.GetRequiredService<IJobStore>());
        services.TryAddSingleton(sp => (Batches.IBatchStore)sp.GetRequiredService<IJobStore>());
        services.TryAddSingleton<IModelLoadRecord>(sp => new FileModelLoadRecord(
            Path.Combine(ResolvePath(sp, sp.GetRequiredService<IOptions<JobsOptions>>().Value.DataDirectory), "model-load.txt")));
        services.TryAddSingleton(sp => new EtaEstimator(sp.GetRequiredService<IOptions<JobsOptions>>().Value.InitialSecondsPerStepAt1024));
        services.TryAddSingleton(sp => new JobNotifier(sp.GetRequiredService<ILogger<JobNotifier>>()));
        services.TryAddSingleton<IJobNotifier>(sp => sp.GetRequiredService<JobNotifier>());
        services.TryAddSingleton<JobService>();
        services.TryAddSingleton<IJobService>(sp => sp.GetRequiredService<JobService>());
        services.TryAddSingleton<IUsageService, UsageService>();
        services.TryAddSingleton<Batches.BatchService>();
        services.TryAddSingleton<Batches.IBatchService>(sp => sp.GetRequiredService<Batches.BatchService>());
        services.TryAddSingleton(sp => new Batches.BatchArchive(sp.GetRequiredService<IHistoryService>(),
            Path.Combine(ResolvePath(sp, sp.GetRequiredService<IOptions<JobsOptions>>().Value.DataDirectory), "batches")));
        services.TryAddSingleton<ISystemStatus, SystemStatus>();
        services.TryAddSingleton<PictureSharing>();
        services.TryAddSingleton<IHistoryService, HistoryService>();
        // First among the room's hosted services: the host starts them in order, so the workers, retention, the relay
        // and (registered after the engine) the web server start on a migrated, recovered, reconciled store.
        services.TryAddSingleton<JobsStartup>();
        services.AddHostedService(sp => sp.GetRequiredService<JobsStartup>());
        services.TryAddSingleton<JobWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<JobWorker>());
        services.TryAddSingleton<SharedJobEvents>();
        services.AddHostedService(sp => sp.GetRequiredService<SharedJobEvents>());
        services.TryAddSingleton<RetentionService>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
        return services;
    }

    /// <summary>With PostgreSQL every process must see the same pictures: the shared folder when one is named.</summary>
    private static string PictureFolder(IServiceProvider sp)
    {
        var store = sp.GetRequiredService<IOptions<StoreOptions>>().Value;
        return store.IsShared && !string.IsNullOrWhiteSpace(store.SharedPictureFolder)
            ? store.SharedPictureFolder
            : sp.GetRequiredService<IOptions<JobsOptions>>().Value.OutputDirectory;
    }

    private static string ResolvePath(IServiceProvider sp, string path) => ContentPaths.Resolve(path, ContentPaths.Root(sp));
}
