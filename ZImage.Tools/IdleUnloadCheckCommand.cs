using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// <c>idle-unload-check --model DIR [--provider cuda|cpu] [--minutes 1] [--clock-speed 1] [--width 1024] [--height 1024]
/// [--steps 8] [--ort-dir DIR] [--json FILE] [--verbose]</c>: issue 16's idle unload on a real machine, by the sequence
/// and criterion of <see cref="IdleUnloadCheck"/> (the unit test runs the same). The jobs are queued through the jobs
/// worker into the app's own <see cref="PipelineHost"/> (ZImage:Engine:IdleUnloadMinutes = --minutes), whose idle timer
/// unloads the model between them. --clock-speed N hands the host a clock that runs N times as fast as the wall clock,
/// so the same timer and idle check fire after minutes/N (1 = real time). Exit codes: 0 every session was disposed, the
/// memory came back (when the provider is a GPU one and NVML is present) and the next job reloaded; 1 one of these
/// failed; 2 bad arguments.
/// </summary>
internal static class IdleUnloadCheckCommand
{
    private const int MaxClockSpeed = 3600;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string model;
        ProviderChoice provider;
        int minutes, speed;
        GenerationRequest request;
        string? ortDirectory, jsonPath;
        bool verbose;
        try
        {
            var a = new CliArguments(args, EngineCli.CommonFlags);
            model = EngineCli.ModelDirectory(a.Required("model"));
            provider = CliArguments.ParseProvider(a.String("provider") ?? "cuda") switch
            {
                ExecutionProvider.Cuda => ProviderChoice.Cuda,
                ExecutionProvider.TensorRT => ProviderChoice.TensorRT,
                _ => ProviderChoice.Cpu,
            };
            minutes = a.Int("minutes", 1);
            speed = a.Int("clock-speed", 1);
            request = new GenerationRequest
            {
                Prompt = "a lighthouse on a cliff at dusk, photograph",
                Width = a.Int("width", 1024), Height = a.Int("height", 1024), Steps = a.Int("steps", 8), Seed = 7,
            };
            ortDirectory = a.String("ort-dir");
            jsonPath = a.String("json");
            verbose = a.Flag("verbose");
            a.RejectUnknown();
            if (minutes is < 1 or > EngineOptions.MaxIdleUnloadMinutes)
                throw new CliException($"--minutes must be between 1 and {EngineOptions.MaxIdleUnloadMinutes} (ZImage:Engine:IdleUnloadMinutes; 0 would never unload)");
            if (speed is < 1 or > MaxClockSpeed)
                throw new CliException($"--clock-speed must be between 1 (real time) and {MaxClockSpeed}");
            if (request.Validate() is { Count: > 0 } problems)
                throw new CliException(problems[0].Message);
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }

        using var loggers = EngineCli.Loggers(verbose);
        // The options as the app binds them, validated the same way (the minutes' range among them).
        await using var options = new ServiceCollection()
            .AddSingleton<ILoggerFactory>(loggers)
            .AddOptions<EngineOptions>().Configure(o =>
            {
                o.ModelDirectory = Path.GetFullPath(model);
                o.Provider = provider;
                o.IdleUnloadMinutes = minutes;
            }).ValidateDataAnnotations().Services
            .AddOptions<VramOptions>().Configure(o => o.Residency = ResidencyPolicy.Resident).Services
            .BuildServiceProvider();
        var engine = options.GetRequiredService<IOptionsMonitor<EngineOptions>>();
        var vram = options.GetRequiredService<IOptionsMonitor<VramOptions>>();
        _ = engine.CurrentValue;

        var runtime = OrtRuntime.Load(ortDirectory, loggers.CreateLogger("ZImage.Engine.Onnx"));
        using var probe = new NvmlMemoryProbe(Options.Create(vram.CurrentValue), loggers.CreateLogger<NvmlMemoryProbe>());
        var catalog = new ModelCatalog(engine);
        if (!catalog.Current.IsUsable)
        {
            error.WriteLine($"error: --model {model}: {catalog.Current.Describe()}");
            return 2;
        }
        var guard = new VramGuard(probe, new OptionsModelFootprintSource(vram, catalog), vram);
        TimeProvider clock = speed == 1 ? TimeProvider.System : new FastClock(speed);
        using var host = new PipelineHost(engine, catalog, () => runtime, guard, loggers, clock, new MemoryModelLoadRecord());

        string root = Path.Combine(Path.GetTempPath(), "zimage-idle-unload", Guid.NewGuid().ToString("N"));
        var room = await JobsRoom.StartAsync(host, new Dictionary<string, string?>
        {
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(root, "data"),
            ["ZImage:Jobs:OutputDirectory"] = Path.Combine(root, "outputs"),
        });
        var report = new JsonObject
        {
            ["model"] = catalog.Current.Manifest!.ModelName, ["provider"] = provider.ToString(), ["ort_version"] = runtime.Version,
            ["idle_unload_minutes"] = minutes, ["clock_speed"] = speed,
            ["request"] = $"{request.Width}x{request.Height}, {request.Steps} steps",
        };
        IdleUnloadReport result;
        try
        {
            var jobs = room.GetRequiredService<JobService>();
            var worker = room.GetRequiredService<JobWorker>();
            var notifier = room.GetRequiredService<IJobNotifier>();
            await worker.StartAsync(CancellationToken.None);

            // NVML is consulted only where the sessions live on the card; on the CPU the card's memory says nothing about them.
            var gpu = provider == ProviderChoice.Cpu ? null : probe;
            var card = gpu?.Read();
            output.WriteLine($"ONNX Runtime {runtime.Version}, provider {provider}, model {catalog.Current.Manifest.ModelName}; " +
                             (card is not null ? $"GPU {card.Name}, {Mebibytes.Of(card.TotalBytes)} MiB"
                                 : gpu is null ? "CPU provider: GPU memory is not consulted" : "no NVML here: GPU memory is not read"));
            // The host's own timer does the unload; the clock runs by itself, so nothing is done to pass the idle time.
            var limit = TimeSpan.FromMinutes(minutes) / speed + TimeSpan.FromSeconds(60);
            result = await IdleUnloadCheck.RunAsync(host, gpu, name => RunJobAsync(jobs, notifier, request, name), () => Task.CompletedTask, limit);
        }
        finally
        {
            await room.DisposeAsync();
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }

        var r = result;
        output.WriteLine($"before the load:    {Show(r.UsedBefore)}");
        output.WriteLine($"after job 1:        {Show(r.UsedAfterFirst)}, {r.SessionsAfterFirst} sessions open, job {r.First.Outcome} in {r.First.Wall.TotalSeconds:F1} s");
        output.WriteLine($"after the unload:   {(r.UsedAtUnload is null ? Show(null) : $"{Show(r.UsedAtUnload)} at once, {Show(r.UsedAfterUnload)} {IdleUnloadCheck.Settle.TotalSeconds:0} s later")}; {r.SessionsAfterUnload} sessions open; " +
                         $"unloaded {(r.Unloaded ? $"{r.UnloadWait.TotalSeconds:F2} s after job 1 was reported done (wall clock; {minutes} min at clock speed {speed})" : $"NOT within {r.UnloadWait.TotalSeconds:F0} s")}");
        output.WriteLine($"status bar while unloaded: {r.DetailWhileUnloaded}");
        output.WriteLine($"after job 2:        {Show(r.UsedAfterSecond)}, {r.SessionsAfterSecond} sessions open, job {r.Second.Outcome} in {r.Second.Wall.TotalSeconds:F1} s, model {host.State}");
        if (r.MemoryRead)
            output.WriteLine($"memory: job 1 took {Mebibytes.Of(r.UsedAfterFirst - r.UsedBefore)} MiB (with what the process keeps: CUDA context, kernels), " +
                             $"the unload gave back {Mebibytes.Of(r.Released)} MiB, the reload took {Mebibytes.Of(r.ModelTakes)} MiB: {r.ReleasedShare * 100:0.0} % came back");

        report["unload_wall_s"] = Math.Round(r.UnloadWait.TotalSeconds, 3);
        report["status_while_unloaded"] = r.DetailWhileUnloaded;
        report["job1"] = ToJson(r.First);
        report["job2"] = ToJson(r.Second);
        report["used_mib"] = new JsonObject
        {
            ["before_load"] = Mebibytes.Of(r.UsedBefore), ["after_job1"] = Mebibytes.Of(r.UsedAfterFirst), ["after_unload"] = Mebibytes.Of(r.UsedAtUnload),
            ["after_unload_2s"] = Mebibytes.Of(r.UsedAfterUnload), ["after_job2"] = Mebibytes.Of(r.UsedAfterSecond),
        };
        report["sessions"] = new JsonObject { ["after_job1"] = r.SessionsAfterFirst, ["after_unload"] = r.SessionsAfterUnload, ["after_job2"] = r.SessionsAfterSecond };
        if (r.ReleasedShare is { } share)
            report["released_share"] = Math.Round(share, 4);
        var failures = r.Failures;
        report["failures"] = new JsonArray([.. failures.Select(f => (JsonNode?)f)]);
        if (jsonPath is not null)
        {
            string temp = jsonPath + ".tmp";
            await File.WriteAllTextAsync(temp, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temp, jsonPath, overwrite: true);
        }
        foreach (var f in failures)
            error.WriteLine($"FAILED: {f}");
        output.WriteLine(failures.Count > 0 ? "idle unload: FAILED"
            : r.MemoryRead ? "idle unload: every session disposed, the GPU memory back, the next job reloaded"
            : "idle unload: every session disposed and the next job reloaded (GPU memory not read)");
        return failures.Count == 0 ? 0 : 1;
    }

    private static JsonObject ToJson(IdleUnloadJob job) => new()
    {
        ["outcome"] = job.Outcome, ["reason"] = job.Reason, ["wall_s"] = Math.Round(job.Wall.TotalSeconds, 3), ["run_s"] = Math.Round(job.Run.TotalSeconds, 3),
    };

    /// <summary>Queues one job the way the studio does and waits for the worker to finish it.</summary>
    private static async Task<IdleUnloadJob> RunJobAsync(JobService jobs, IJobNotifier notifier, GenerationRequest request, string name)
    {
        var done = new TaskCompletionSource<JobEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        // One job at a time under this command's own name: its end is the next end event of that name.
        using var subscription = notifier.SubscribeAll(e =>
        {
            if (e is JobSucceeded or JobFailed or JobCancelled && e.UserName == Caller.UserName)
                done.TrySetResult(e);
        });
        var clock = Stopwatch.StartNew();
        var submitted = await jobs.SubmitAsync(new JobRequest { Settings = request with { Prompt = $"{request.Prompt} ({name} job)" } }, Caller);
        if (!submitted.Accepted)
            return new("refused", submitted.Message, TimeSpan.Zero, TimeSpan.Zero);
        var end = await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        return end switch
        {
            JobSucceeded s => new("succeeded", null, clock.Elapsed, s.RunTime),
            JobFailed f => new("failed", f.Reason, clock.Elapsed, TimeSpan.Zero),
            _ => new("cancelled", null, clock.Elapsed, TimeSpan.Zero),
        };
    }

    private static readonly Caller Caller = new("idle-check");

    private static string Show(long? bytes) => bytes is null ? "(not read)" : $"{Mebibytes.Show(bytes)} used";

    /// <summary>
    /// Wall time sped up N times for the host alone: its idle timer is armed for minutes/N of real time and its idle
    /// check reads a clock that has moved N times as far, so the unload runs through the same code as in the studio.
    /// </summary>
    private sealed class FastClock(int speed) : TimeProvider
    {
        private readonly DateTimeOffset _start = System.GetUtcNow();
        private readonly long _started = System.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => _start + System.GetElapsedTime(_started) * speed;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

        // One millisecond more: a timer never fires before the sped-up clock has reached its due time.
        private TimeSpan Scale(TimeSpan t) => t == Timeout.InfiniteTimeSpan ? t : t / speed + TimeSpan.FromMilliseconds(1);
    }
}
