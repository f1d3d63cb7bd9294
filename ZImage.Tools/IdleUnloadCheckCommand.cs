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
/// [--steps 8] [--ort-dir DIR] [--json FILE] [--verbose]</c>: issue 16's idle unload on a real machine. One job through
/// the jobs worker loads the model into the app's own <see cref="PipelineHost"/> (ZImage:Engine:IdleUnloadMinutes =
/// --minutes); the command then waits until the host's idle timer has unloaded it, and a second job must load it again
/// and succeed. NVML's "used" memory of the device is read before the load, after the first job, after the unload and
/// after the second job. --clock-speed N hands the host a clock that runs N times as fast as the wall clock, so the
/// same timer and idle check fire after minutes/N (1 = real time). Exit codes: 0 every session was disposed, the memory
/// came back (when NVML is present) and the next job reloaded; 1 one of these failed; 2 bad arguments.
/// </summary>
internal static class IdleUnloadCheckCommand
{
    private const int MaxClockSpeed = 3600;

    /// <summary>Of what the load took, this share must be back after the unload (the CUDA context itself stays).</summary>
    private const double MinReleasedShare = 0.9;

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
        var failures = new List<string>();
        try
        {
            var jobs = room.GetRequiredService<JobService>();
            var worker = room.GetRequiredService<JobWorker>();
            var notifier = room.GetRequiredService<IJobNotifier>();
            await worker.StartAsync(CancellationToken.None);

            var gpu = probe.Read();
            output.WriteLine($"ONNX Runtime {runtime.Version}, provider {provider}, model {catalog.Current.Manifest.ModelName}; " +
                             (gpu is null ? "no NVML here: GPU memory is not read" : $"GPU {gpu.Name}, {Mib(gpu.TotalBytes)} MiB"));
            long? before = Used(probe);
            output.WriteLine($"before the load:    {Show(before)}");

            var first = await RunJobAsync(jobs, notifier, request, "first");
            long? loaded = Used(probe);
            int sessionsLoaded = host.OpenSessionCount;
            output.WriteLine($"after job 1:        {Show(loaded)}, {sessionsLoaded} sessions open, job {first.Outcome} in {first.Seconds:F1} s");
            report["job1"] = first.ToJson();
            if (first.Outcome != "succeeded")
                failures.Add($"job 1 {first.Outcome}: {first.Reason}");

            // The host's own timer does the unload; this only watches for it.
            var idle = Stopwatch.StartNew();
            var limit = TimeSpan.FromMinutes(minutes) / speed + TimeSpan.FromSeconds(60);
            while (host.State != ModelState.Unloaded && idle.Elapsed < limit)
                await Task.Delay(20);
            idle.Stop();
            bool unloaded = host.State == ModelState.Unloaded;
            int sessionsUnloaded = host.OpenSessionCount;
            long? afterUnload = Used(probe);
            await Task.Delay(TimeSpan.FromSeconds(2));
            long? afterUnloadLater = Used(probe);
            output.WriteLine($"after the unload:   {Show(afterUnload)} at once, {Show(afterUnloadLater)} 2 s later; {sessionsUnloaded} sessions open; " +
                             $"unloaded {(unloaded ? $"{idle.Elapsed.TotalSeconds:F2} s after job 1 was reported done (wall clock; {minutes} min at clock speed {speed})" : $"NOT within {limit.TotalSeconds:F0} s")}");
            output.WriteLine($"status bar while unloaded: {host.Detail}");
            report["unload_wall_s"] = Math.Round(idle.Elapsed.TotalSeconds, 3);
            report["status_while_unloaded"] = host.Detail;
            if (!unloaded)
                failures.Add("the model was not unloaded in time");
            if (sessionsUnloaded != 0)
                failures.Add($"{sessionsUnloaded} sessions still open after the unload");

            var second = await RunJobAsync(jobs, notifier, request, "second");
            long? reloaded = Used(probe);
            int sessionsReloaded = host.OpenSessionCount;
            output.WriteLine($"after job 2:        {Show(reloaded)}, {sessionsReloaded} sessions open, job {second.Outcome} in {second.Seconds:F1} s, model {host.State}");
            report["job2"] = second.ToJson();
            if (second.Outcome != "succeeded")
                failures.Add($"job 2 {second.Outcome}: {second.Reason}");
            if (sessionsReloaded != sessionsLoaded)
                failures.Add($"job 2 left {sessionsReloaded} sessions open, job 1 {sessionsLoaded}");

            report["used_mib"] = new JsonObject
            {
                ["before_load"] = MibOrNull(before), ["after_job1"] = MibOrNull(loaded), ["after_unload"] = MibOrNull(afterUnload),
                ["after_unload_2s"] = MibOrNull(afterUnloadLater), ["after_job2"] = MibOrNull(reloaded),
            };
            report["sessions"] = new JsonObject { ["after_job1"] = sessionsLoaded, ["after_unload"] = sessionsUnloaded, ["after_job2"] = sessionsReloaded };
            if (before is { } b && loaded is { } l && afterUnloadLater is { } u)
            {
                long took = l - b, back = l - u;
                double share = took > 0 ? (double)back / took : 0;
                output.WriteLine($"memory: job 1 took {Mib(took)} MiB, the unload gave back {Mib(back)} MiB ({share:P1}); {Mib(u - b)} MiB stay (CUDA context)");
                report["released_share"] = Math.Round(share, 4);
                if (share < MinReleasedShare)
                    failures.Add($"only {share:P1} of the {Mib(took)} MiB the model took came back (at least {MinReleasedShare:P0} expected)");
            }
        }
        finally
        {
            await room.DisposeAsync();
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }

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
            : probe.Read() is null ? "idle unload: every session disposed and the next job reloaded (GPU memory not read: no NVML)"
            : "idle unload: every session disposed, the GPU memory back, the next job reloaded");
        return failures.Count == 0 ? 0 : 1;
    }

    private sealed record JobOutcome(string Outcome, string? Reason, double Seconds, double RunSeconds)
    {
        public JsonObject ToJson() => new() { ["outcome"] = Outcome, ["reason"] = Reason, ["wall_s"] = Math.Round(Seconds, 3), ["run_s"] = Math.Round(RunSeconds, 3) };
    }

    /// <summary>Queues one job the way the studio does and waits for the worker to finish it.</summary>
    private static async Task<JobOutcome> RunJobAsync(JobService jobs, IJobNotifier notifier, GenerationRequest request, string name)
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
            return new("refused", submitted.Message, 0, 0);
        var end = await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        return end switch
        {
            JobSucceeded s => new("succeeded", null, clock.Elapsed.TotalSeconds, s.RunTime.TotalSeconds),
            JobFailed f => new("failed", f.Reason, clock.Elapsed.TotalSeconds, 0),
            _ => new("cancelled", null, clock.Elapsed.TotalSeconds, 0),
        };
    }

    private static readonly Caller Caller = new("idle-check");

    private static long? Used(IGpuMemoryProbe probe) => probe.Read()?.UsedBytes;
    private static long Mib(long bytes) => bytes / (1024 * 1024);
    private static JsonNode? MibOrNull(long? bytes) => bytes is { } b ? Mib(b) : null;
    private static string Show(long? bytes) => bytes is { } b ? $"{Mib(b)} MiB used" : "(no NVML)";

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
