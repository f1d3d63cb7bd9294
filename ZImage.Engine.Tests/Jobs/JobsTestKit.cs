using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Jobs;

/// <summary>A clock tests move by hand.</summary>
public sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public void Advance(TimeSpan by) => _now += by;
}

public sealed class FakeMemoryProbe(GpuMemoryInfo? info) : IGpuMemoryProbe
{
    public const long GiB = 1024L * 1024 * 1024;

    public volatile GpuMemoryInfo? Info = info;

    public static FakeMemoryProbe Gpu(double totalGiB, double freeGiB) =>
        new(new GpuMemoryInfo("Fake RTX", (long)(totalGiB * GiB), (long)(freeGiB * GiB), (long)((totalGiB - freeGiB) * GiB)));

    public void SetFree(double freeGiB)
    {
        var i = Info!;
        Info = i with { FreeBytes = (long)(freeGiB * GiB), UsedBytes = i.TotalBytes - (long)(freeGiB * GiB) };
    }

    public GpuMemoryInfo? Read() => Info;
}

/// <summary>Writes small marker files atomically; tests check files and rows, not PNG bytes.</summary>
public sealed class FakeImageWriter : IImageWriter
{
    public Task WriteAsync(RgbImage image, ImageMetadata metadata, string pngPath, string thumbnailPath, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(pngPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(thumbnailPath)!);
        AtomicFile.WriteAllBytes(pngPath, [.. "PNG"u8, .. image.Pixels.Take(16)]);
        AtomicFile.WriteAllBytes(thumbnailPath, "THUMB"u8.ToArray());
        return Task.CompletedTask;
    }
}

/// <summary>
/// Everything subscribed to "all", kept by type. A wait wakes when events arrive and checks its condition again until a
/// deadline; events that arrive while it checks wake it once, not once each. A queue of 200 jobs announces about
/// 20,000 position changes, so neither the wake-ups nor the common questions (how many of one kind, has this job
/// ended) may cost a pass over every event: that made a 200-job test CPU-bound and it ran past its deadline on a
/// loaded machine.
/// </summary>
public sealed class EventLog : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<JobEvent> _all = [];
    private readonly Dictionary<Type, List<JobEvent>> _byType = [];
    private readonly HashSet<string> _ended = new(StringComparer.Ordinal);
    private TaskCompletionSource _arrived = NewSignal();
    private readonly IDisposable _subscription;

    public EventLog(IJobNotifier notifier)
    {
        _subscription = notifier.SubscribeAll(e =>
        {
            TaskCompletionSource arrived;
            lock (_gate)
            {
                _all.Add(e);
                if (!_byType.TryGetValue(e.GetType(), out var sameType))
                    _byType[e.GetType()] = sameType = [];
                sameType.Add(e);
                if (e is JobSucceeded or JobFailed or JobCancelled)
                    _ended.Add(e.JobId);
                arrived = _arrived;
                _arrived = NewSignal();
            }
            arrived.TrySetResult();
        });
    }

    public IReadOnlyList<JobEvent> All
    {
        get
        {
            lock (_gate)
                return [.. _all];
        }
    }

    /// <summary>The events of one kind (every event type is sealed), in the order they were announced.</summary>
    public IReadOnlyList<T> Of<T>() where T : JobEvent
    {
        lock (_gate)
            return _byType.TryGetValue(typeof(T), out var sameType) ? [.. sameType.Cast<T>()] : [];
    }

    /// <summary>True once the job's success, failure or cancel was announced.</summary>
    public bool HasEnded(string jobId)
    {
        lock (_gate)
            return _ended.Contains(jobId);
    }

    public async Task UntilAsync(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            // Taken before the check: an event that lands during the check completes this signal, so none is missed.
            Task arrived;
            lock (_gate)
                arrived = _arrived.Task;
            if (condition())
                return;
            var left = deadline - DateTime.UtcNow;
            try
            {
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException();
                await arrived.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"timed out after {seconds} s waiting for: {what}; events: {Summary()}");
            }
        }
    }

    /// <summary>How many of each kind arrived (a list of 20,000 names helps nobody).</summary>
    private string Summary()
    {
        lock (_gate)
            return string.Join(", ", _byType.Select(t => $"{t.Value.Count} {t.Key.Name}"));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose() => _subscription.Dispose();
}

/// <summary>The jobs room wired as the app wires it (AddZImageJobs), with fakes for GPU, pipeline, writer and clock.</summary>
public sealed class JobsHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private bool _workerStarted;
    private bool _sharedEventsStarted;

    /// <summary>Builds the room and runs its start-up (<see cref="JobsStartup"/>: migration, recovery, reconciliation, then the batches that were running) once, as a host would.</summary>
    public static async Task<JobsHost> StartAsync(string root, FakePipeline? pipeline = null, IGpuMemoryProbe? probe = null, TimeProvider? clock = null,
        Dictionary<string, string?>? settings = null, IImageWriter? writer = null, ISeedSource? seeds = null, IModelStatus? model = null,
        IGpuCardFactory? cards = null)
    {
        var host = new JobsHost(root, pipeline, probe, clock, settings, writer, seeds, model, cards);
        try
        {
            await host._services.StartJobsRoomAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private JobsHost(string root, FakePipeline? pipeline, IGpuMemoryProbe? probe, TimeProvider? clock,
        Dictionary<string, string?>? settings, IImageWriter? writer, ISeedSource? seeds, IModelStatus? model, IGpuCardFactory? cards)
    {
        Root = root;
        Pipeline = pipeline ?? new FakePipeline();
        var values = new Dictionary<string, string?>
        {
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(root, "data"),
            ["ZImage:Jobs:OutputDirectory"] = Path.Combine(root, "outputs"),
            ["ZImage:Jobs:MemoryHoldPollMilliseconds"] = "50",
        };
        foreach (var (k, v) in settings ?? [])
            values[k] = v;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<IImagePipeline>(Pipeline);
        services.AddSingleton<IGpuMemoryProbe>(probe ?? new FakeMemoryProbe(null));
        services.AddSingleton<IImageWriter>(writer ?? new FakeImageWriter());
        services.AddSingleton(clock ?? TimeProvider.System);
        if (model is not null)
            services.AddSingleton(model);
        if (cards is not null)
            services.AddSingleton(cards);
        // Random seeds repeat from run to run, so a failing test fails the same way again.
        services.AddSingleton(seeds ?? new RandomSeedSource(new Random(20261205)));
        services.AddZImageJobs(configuration);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Events = new EventLog(Notifier);
    }

    public string Root { get; }
    public FakePipeline Pipeline { get; }
    public EventLog Events { get; }
    public IJobService Jobs => _services.GetRequiredService<IJobService>();
    public JobService Service => _services.GetRequiredService<JobService>();
    public IJobNotifier Notifier => _services.GetRequiredService<IJobNotifier>();
    public IHistoryService History => _services.GetRequiredService<IHistoryService>();
    public ISystemStatus Status => _services.GetRequiredService<ISystemStatus>();
    public IJobStore Store => _services.GetRequiredService<IJobStore>();
    public ITimingStore Timings => _services.GetRequiredService<ITimingStore>();
    public ImageFiles Files => _services.GetRequiredService<ImageFiles>();
    public GpuCards Cards => _services.GetRequiredService<GpuCards>();
    public IVramGuard Guard => _services.GetRequiredService<IVramGuard>();
    public RetentionService Retention => _services.GetRequiredService<RetentionService>();
    public JobWorker Worker => _services.GetRequiredService<JobWorker>();
    public IUsageService Usage => _services.GetRequiredService<IUsageService>();
    /// <summary>The room's hosted services in the order a host starts them.</summary>
    public IReadOnlyList<Microsoft.Extensions.Hosting.IHostedService> HostedServices => [.. _services.GetServices<Microsoft.Extensions.Hosting.IHostedService>()];
    public ZImage.Engine.Jobs.Batches.IBatchService Batches => _services.GetRequiredService<ZImage.Engine.Jobs.Batches.IBatchService>();
    public ZImage.Engine.Jobs.Batches.BatchArchive Archive => _services.GetRequiredService<ZImage.Engine.Jobs.Batches.BatchArchive>();

    public static string NewRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), "zimage-jobs-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return root;
    }

    public async Task StartWorkerAsync()
    {
        await Worker.StartAsync(CancellationToken.None);
        _workerStarted = true;
    }

    /// <summary>The relay of other processes' job changes (PostgreSQL), as the host starts it; returns once it listens.</summary>
    public async Task StartSharedEventsAsync()
    {
        await _services.GetRequiredService<SharedJobEvents>().StartAsync(CancellationToken.None);
        _sharedEventsStarted = true;
        await ((PostgresJobStore)Store).Listening.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private CancellationTokenSource? _listenOnly;
    private Task _listenOnlyTask = Task.CompletedTask;

    /// <summary>
    /// Only the listener for other processes' signals (PostgreSQL), without the relay's read of the shared queue every
    /// couple of seconds: whatever changes here then came by a signal. Returns once it listens.
    /// </summary>
    public async Task ListenOnlyAsync()
    {
        _listenOnly = new CancellationTokenSource();
        _listenOnlyTask = Service.ListenForOtherProcessesAsync(_listenOnly.Token);
        await ((PostgresJobStore)Store).Listening.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async Task<JobSnapshot> SubmitAsync(string user, int width = 512, int height = 512, int steps = 4, int count = 1, string prompt = "a red fox")
    {
        var result = await Jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = prompt, Width = width, Height = height, Steps = steps, Count = count } }, new Caller(user));
        Assert.True(result.Accepted, result.Message);
        return result.Job!;
    }

    public Task UntilFinalAsync(string jobId, int seconds = 20) => Events.UntilAsync(() => Events.HasEnded(jobId), $"job {jobId} to end", seconds);

    public async ValueTask DisposeAsync()
    {
        Events.Dispose();
        if (_workerStarted)
            await Worker.StopAsync(CancellationToken.None);
        if (_sharedEventsStarted)
            await _services.GetRequiredService<SharedJobEvents>().StopAsync(CancellationToken.None);
        if (_listenOnly is not null)
        {
            await _listenOnly.CancelAsync();
            await _listenOnlyTask;
            _listenOnly.Dispose();
        }
        await _services.DisposeAsync();
    }
}

/// <summary>A card's model state the test sets: unloaded with a measured cold start, or ready and loaded.</summary>
public sealed class SettableModelStatus(ModelState state, TimeSpan? load) : IModelStatus
{
    private (ModelState State, TimeSpan? Load) _now = (state, load);
    public ModelState State => _now.State;
    public string? Detail => null;
    public TimeSpan? LoadEstimate => _now.Load;
    public void Set(ModelState state, TimeSpan? load) => _now = (state, load);
}

/// <summary>
/// The cards after the first for a host with ZImage:Engine:Devices: each its own fake pipeline and fake memory probe (a
/// real VRAM guard over it), as the app gives every card its own sessions and guard.
/// </summary>
public sealed class FakeCards(params (FakePipeline Pipeline, IGpuMemoryProbe Probe)[] more) : IGpuCardFactory
{
    /// <summary>A further card's model state by its index; absent: ready, with the model loaded.</summary>
    public Func<int, IModelStatus>? Models { get; init; }

    public GpuCard Create(int index, int deviceId)
    {
        var (pipeline, probe) = more[index - 1];
        var memory = new SettableMonitor<VramOptions>(new VramOptions());
        return new GpuCard(index, deviceId, pipeline, new VramGuard(probe, new FixedFootprint(), memory), probe, Models?.Invoke(index) ?? new FixedModelStatus());
    }

    private sealed class FixedFootprint : IModelFootprintSource
    {
        public ModelFootprint Current => new(1L << 30, 1L << 30, 1L << 28, false);
    }

    private sealed class FixedModelStatus : IModelStatus
    {
        public ModelState State => ModelState.Ready;
        public string? Detail => null;
    }
}
