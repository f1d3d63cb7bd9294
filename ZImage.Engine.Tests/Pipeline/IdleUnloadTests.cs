using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>
/// Idle unload through the host that owns the sessions, on the tiny self-test model, with a clock the test moves. The
/// measuring sequence and its criterion are <see cref="IdleUnloadCheck"/>'s, the same that ZImage.Tools idle-unload-check
/// runs on a real card.
/// </summary>
public sealed class IdleUnloadTests
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private static readonly GenerationRequest Request = new() { Prompt = "a harbour", Width = 256, Height = 256, Steps = 2, Seed = 4 };

    private static PipelineHost Host(int idleMinutes, TimeProvider clock, IModelLoadRecord loads, ProviderChoice provider = ProviderChoice.Cpu, int? device = null)
    {
        var options = new SettableMonitor<EngineOptions>(new EngineOptions { ModelDirectory = SelfTest, Provider = provider, IdleUnloadMinutes = idleMinutes });
        // Resident: every session stays open after a run, so the count says what the unload disposed.
        var vram = new SettableMonitor<VramOptions>(new VramOptions { Residency = ResidencyPolicy.Resident });
        var catalog = new ModelCatalog(options);
        var guard = new VramGuard(new FakeMemoryProbe(null), new OptionsModelFootprintSource(vram, catalog), vram);
        return new PipelineHost(options, catalog, () => OrtRuntime.Load(), guard, NullLoggerFactory.Instance, clock, loads, device);
    }

    /// <summary>
    /// The CPU always; CUDA only where it can be measured: ONNX Runtime's CUDA provider is usable here (what the Auto
    /// setting, and so Settings and the status bar, decide: <see cref="RuntimeInfo.AutoChoice"/>) and NVML reads card 0
    /// (what the status bar's GPU memory reads; with several GPUs set CUDA_DEVICE_ORDER=PCI_BUS_ID so both mean the same
    /// card, docs/scale-out.md). xunit 2 has no dynamic skip, and a CUDA case that returned early would assert nothing,
    /// so on CI and boxes without a GPU the CUDA case does not exist rather than pass empty.
    /// </summary>
    public static TheoryData<ProviderChoice> Providers()
    {
        var providers = new TheoryData<ProviderChoice> { ProviderChoice.Cpu };
        using var nvml = new NvmlMemoryProbe(0, NullLogger<NvmlMemoryProbe>.Instance);
        if (new OrtRuntimeInfoSource(() => OrtRuntime.Load()).Get().AutoChoice == ExecutionProvider.Cuda && nvml.Read() is not null)
            providers.Add(ProviderChoice.Cuda);
        return providers;
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AfterTheIdleMinutesEverySessionIsDisposedTheMemoryIsBackAndTheNextRunLoadsTheModelAgain(ProviderChoice provider)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
        var loads = new MemoryModelLoadRecord();
        using var host = Host(5, clock, loads, provider, device: provider == ProviderChoice.Cuda ? 0 : null);
        // On the CPU the card's memory has nothing to do with the sessions: NVML is not consulted.
        using var nvml = provider == ProviderChoice.Cuda ? new NvmlMemoryProbe(0, NullLogger<NvmlMemoryProbe>.Instance) : null;
        var pictures = new List<GenerationResult>();
        int sessionsAtFourMinutes = -1;
        TimeSpan? estimateWhileLoaded = TimeSpan.MaxValue;

        var report = await IdleUnloadCheck.RunAsync(host, nvml, async name =>
            {
                pictures.Add(await host.RunAsync(Request, null, CancellationToken.None));
                return new IdleUnloadJob("succeeded", null, TimeSpan.Zero, TimeSpan.Zero);
            },
            passIdleTime: () =>
            {
                estimateWhileLoaded = host.LoadEstimate;
                clock.Advance(TimeSpan.FromMinutes(4));
                sessionsAtFourMinutes = host.OpenSessionCount;
                clock.Advance(TimeSpan.FromMinutes(1));
                return Task.CompletedTask;
            },
            unloadLimit: TimeSpan.FromSeconds(5));

        Assert.True(report.Passed, string.Join("; ", report.Failures));
        Assert.Equal((3, 3, 0, 3), (report.SessionsAfterFirst, sessionsAtFourMinutes, report.SessionsAfterUnload, report.SessionsAfterSecond));
        Assert.Null(estimateWhileLoaded);
        Assert.NotNull(loads.Last);
        Assert.Contains("the next picture loads it", report.DetailWhileUnloaded);
        Assert.Equal(ModelState.Ready, host.State);
        if (provider == ProviderChoice.Cpu)
        {
            Assert.False(report.MemoryRead);
            Assert.Equal(pictures[0].Images[0].Image.Pixels, pictures[1].Images[0].Image.Pixels);
        }
        else
        {
            // cuDNN may pick other convolution algorithms in the new sessions, so the pixels are not compared bit for bit.
            Assert.True(report.MemoryRead, "NVML read the card before, between and after the runs");
            Assert.True(report.ReleasedShare >= IdleUnloadCheck.MinReleasedShare, $"released {report.ReleasedShare:P1}");
            Assert.Equal((256, 256), (pictures[1].Images[0].Image.Width, pictures[1].Images[0].Image.Height));
        }
    }

    [Fact]
    public async Task ATimerThatFiresAMomentEarlyStillUnloadsWhenTheTimeIsUp()
    {
        // The timer queue counts coarse milliseconds, so a timer can fire a few milliseconds before the clock the idle
        // check reads says the minutes are over; the likeliest cause of the one idle-unload-check run that never unloaded.
        var clock = new EarlyTimers(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
        using var host = Host(5, clock, new MemoryModelLoadRecord());
        await host.RunAsync(Request, null, CancellationToken.None);

        // The timer fires at 4:59.996, the check sees the minutes are not over and looks again a second after they are.
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(4));
        Assert.Equal(ModelState.Ready, host.State);
        clock.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(4));
        Assert.Equal((ModelState.Unloaded, 0), (host.State, host.OpenSessionCount));
    }

    /// <summary>A test clock whose timers fire 4 ms before their due time, as a coarse timer queue can.</summary>
    private sealed class EarlyTimers(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(4);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            base.CreateTimer(callback, state, dueTime > Early ? dueTime - Early : dueTime, period);
    }

    [Fact]
    public void TheCriterionFailsWhenSessionsStayOpenTheMemoryStaysOrTheNextRunDidNotReload()
    {
        var ok = new IdleUnloadJob("succeeded", null, TimeSpan.Zero, TimeSpan.Zero);
        const long MiB = 1024 * 1024;
        var passed = new IdleUnloadReport
        {
            First = ok, Second = ok, Unloaded = true, SessionsAfterFirst = 3, SessionsAfterUnload = 0, SessionsAfterSecond = 3,
            // The first load also pays the CUDA context (500 MiB here); what the model takes is read on the reload.
            UsedBefore = 1000 * MiB, UsedAfterFirst = 21_500 * MiB, UsedAtUnload = 2000 * MiB, UsedAfterUnload = 1500 * MiB, UsedAfterSecond = 21_500 * MiB,
        };
        Assert.Empty(passed.Failures);
        Assert.Equal(1.0, passed.ReleasedShare);

        Assert.Equal(["1 sessions still open after the unload"], (passed with { SessionsAfterUnload = 1 }).Failures);
        Assert.Equal(["job 2 left 0 sessions open, not 3: the model was not loaded again"], (passed with { SessionsAfterSecond = 0 }).Failures);
        Assert.Equal(["the unload gave back 16000 MiB, 80.0 % of the 20000 MiB the model takes (at least 90 % expected)"],
            (passed with { UsedAfterUnload = 5500 * MiB, UsedAfterSecond = 25_500 * MiB }).Failures);
        Assert.Equal(["the model was not unloaded in time", "job 2 failed: out of memory"],
            (passed with { Unloaded = false, Second = new IdleUnloadJob("failed", "out of memory", TimeSpan.Zero, TimeSpan.Zero) }).Failures);
        // No NVML readings (the CPU provider): only the sessions and the jobs decide.
        Assert.Empty((passed with { UsedBefore = null, UsedAfterFirst = null, UsedAtUnload = null, UsedAfterUnload = null, UsedAfterSecond = null }).Failures);
    }

    [Fact]
    public async Task EachCardUnloadsAfterItsOwnIdleMinutesAndReloadsWithoutTouchingTheOther()
    {
        // Two "cards" as the app makes them (a host per device of ZImage:Engine:Devices), both on the CPU here.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
        var loads = new MemoryModelLoadRecord();
        using var card0 = Host(5, clock, loads, device: 0);
        using var card1 = Host(5, clock, loads, device: 1);

        await card0.RunAsync(Request, null, CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(3));
        await card1.RunAsync(Request, null, CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((ModelState.Unloaded, 0), (card0.State, card0.OpenSessionCount));
        Assert.Equal((ModelState.Ready, 3), (card1.State, card1.OpenSessionCount));
        Assert.Equal((loads.Last, (TimeSpan?)null), (card0.LoadEstimate, card1.LoadEstimate));

        await card0.RunAsync(Request, null, CancellationToken.None);
        Assert.Equal((ModelState.Ready, 3), (card0.State, card0.OpenSessionCount));
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal((ModelState.Unloaded, 0), (card1.State, card1.OpenSessionCount));
        Assert.Equal((ModelState.Ready, 3), (card0.State, card0.OpenSessionCount));
    }

    [Fact]
    public async Task ARunRestartsTheIdleTimeAndZeroMinutesNeverUnloads()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
        using (var host = Host(5, clock, new MemoryModelLoadRecord()))
        {
            await host.RunAsync(Request, null, CancellationToken.None);
            clock.Advance(TimeSpan.FromMinutes(3));
            await host.RunAsync(Request, null, CancellationToken.None);
            clock.Advance(TimeSpan.FromMinutes(3));
            Assert.Equal(3, host.OpenSessionCount);
        }
        using (var never = Host(0, clock, new MemoryModelLoadRecord()))
        {
            await never.RunAsync(Request, null, CancellationToken.None);
            clock.Advance(TimeSpan.FromDays(2));
            Assert.Equal(3, never.OpenSessionCount);
            Assert.Equal(ModelState.Ready, never.State);
        }
    }

    [Fact]
    public void TheMeasuredColdStartSurvivesARestartInItsFile()
    {
        string file = Path.Combine(JobsHost.NewRoot(), "data", "model-load.txt");
        new FileModelLoadRecord(file).Save(TimeSpan.FromSeconds(42.5));
        Assert.Equal(TimeSpan.FromSeconds(42.5), new FileModelLoadRecord(file).Last);
        File.WriteAllText(file, "not a number");
        Assert.Null(new FileModelLoadRecord(file).Last);
    }

    [Fact]
    public async Task WhileTheModelIsNotLoadedTheFirstJobsEtaIncludesTheColdStart()
    {
        var pipeline = new FakePipeline();
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), pipeline, model: new NotLoaded(TimeSpan.FromSeconds(40)));
        var job = await host.SubmitAsync("ann", steps: 2);
        Assert.True(job.EtaStart >= TimeSpan.FromSeconds(40), $"EtaStart {job.EtaStart}");
        Assert.True(job.EtaFinish >= TimeSpan.FromSeconds(40), $"EtaFinish {job.EtaFinish}");
    }

    [Fact]
    public async Task WithSeveralCardsTheNextJobGoesToAFreeCardThatHasTheModelAndOnlyACardWithoutItAddsItsColdStart()
    {
        // Card 0 unloaded after idle minutes (its cold start measured at 40 s), card 1 with the model loaded.
        var first = new FakePipeline();
        var second = new FakePipeline();
        await first.HoldStepsAsync();
        second.Hold();
        var cold = new SettableModelStatus(ModelState.Unloaded, TimeSpan.FromSeconds(40));
        var warm = new SettableModelStatus(ModelState.Ready, null);
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), first, model: cold,
            settings: new() { ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1" },
            cards: new FakeCards((second, new FakeMemoryProbe(null))) { Models = _ => warm });
        Assert.Null(host.Status.GetStatus().NextJobLoadEstimate);

        await host.StartWorkerAsync();
        var a = await host.SubmitAsync("ann", 256, 256, prompt: "a");
        // The step after which the second pipeline holds wakes the wait once its run has begun.
        await host.Events.UntilAsync(() => !first.Started.IsEmpty || !second.Started.IsEmpty, "job a to start");
        var startedA = Assert.Single(host.Events.Of<JobStarted>());
        Assert.Equal(a.Id, startedA.JobId);
        Assert.Equal("a", Assert.Single(second.Started).Prompt);
        Assert.Empty(first.Started);
        Assert.Null(startedA.ModelLoad);
        // The card with the model is busy now: a picture asked for next goes to card 0 and waits for its load.
        Assert.Equal(TimeSpan.FromSeconds(40), host.Status.GetStatus().NextJobLoadEstimate);

        var b = await host.SubmitAsync("bob", 256, 256, prompt: "b");
        await host.Events.UntilAsync(() => host.Events.Of<JobStarted>().Count() == 2, "job b to start");
        // Its run begins just after JobStarted; its steps are held, so no event tells when.
        for (int i = 0; i < 1000 && first.Started.IsEmpty && second.Started.Count == 1; i++)
            await Task.Delay(10);
        var startedB = host.Events.Of<JobStarted>().Single(e => e.JobId == b.Id);
        Assert.Equal("b", Assert.Single(first.Started).Prompt);
        Assert.Equal(TimeSpan.FromSeconds(40), startedB.ModelLoad);
        Assert.True(startedB.EtaFinish >= TimeSpan.FromSeconds(40), $"EtaFinish {startedB.EtaFinish}");
        // A page opened now learns the same from the job's snapshot (b is before its first step).
        Assert.Equal(TimeSpan.FromSeconds(40), (await host.Jobs.GetAsync(b.Id, new Caller("bob")))!.ModelLoad);
        Assert.Null((await host.Jobs.GetAsync(a.Id, new Caller("ann")))!.ModelLoad);
        // Both cards busy: whichever frees first has its model by then.
        Assert.Null(host.Status.GetStatus().NextJobLoadEstimate);

        first.Unhold();
        second.Release();
        await host.UntilFinalAsync(a.Id);
        await host.UntilFinalAsync(b.Id);
        warm.Set(ModelState.Unloaded, TimeSpan.FromSeconds(40));
        Assert.Equal(TimeSpan.FromSeconds(40), host.Status.GetStatus().NextJobLoadEstimate);
        warm.Set(ModelState.Ready, null);
        cold.Set(ModelState.Ready, null);
        Assert.Null(host.Status.GetStatus().NextJobLoadEstimate);
    }

    [Fact]
    public async Task ACardWithoutTheModelDoesNotLeaveTheNextJobToACardThatPausesAfterAFault()
    {
        var first = new FakePipeline();
        var second = new FakePipeline();
        await first.HoldStepsAsync();
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot(), first, model: new SettableModelStatus(ModelState.Unloaded, TimeSpan.FromSeconds(40)),
            settings: new() { ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1" },
            cards: new FakeCards((second, new FakeMemoryProbe(null))));
        // Card 1 has the model but failed a moment ago and takes nothing for a minute.
        host.Cards[1].Health.Faulted("CUDA failure 999", DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        Assert.Equal(TimeSpan.FromSeconds(40), host.Status.GetStatus().NextJobLoadEstimate);

        await host.StartWorkerAsync();
        var job = await host.SubmitAsync("ann", 256, 256, prompt: "not left waiting");
        await host.Events.UntilAsync(() => host.Events.Of<JobStarted>().Any(), "the job to start");
        Assert.Equal(TimeSpan.FromSeconds(40), Assert.Single(host.Events.Of<JobStarted>()).ModelLoad);
        for (int i = 0; i < 1000 && first.Started.IsEmpty; i++)
            await Task.Delay(10);
        Assert.Equal("not left waiting", Assert.Single(first.Started).Prompt);
        Assert.Empty(second.Started);
        first.Unhold();
        await host.UntilFinalAsync(job.Id);
    }

    [Fact]
    public async Task QueuedJobsAreTimedOnTheCardsThatWillTakeThemWithTheColdStartOfACardWithoutTheModel()
    {
        string root = JobsHost.NewRoot();
        await using (var seed = await JobsHost.StartAsync(root))
        {
            await seed.Timings.SaveStepTimingAsync(new StepTiming(512, 512, false, 5, SecondsPerStep: 2.0, FixedSecondsPerImage: 1.0));
        }
        await using var host = await JobsHost.StartAsync(root, new FakePipeline(), model: new SettableModelStatus(ModelState.Unloaded, TimeSpan.FromSeconds(40)),
            settings: new() { ["ZImage:Engine:Devices:0"] = "0", ["ZImage:Engine:Devices:1"] = "1", ["ZImage:Jobs:MaxQueuedPerUser"] = "10" },
            cards: new FakeCards((new FakePipeline(), new FakeMemoryProbe(null))));

        // 8 steps x 2 s + 1 s = 17 s a job. The first starts at once on card 1, which has the model; the second on card 0,
        // idle but without the model, after its 40 s load; the third after the first, on card 1.
        var jobs = new List<JobSnapshot>();
        for (int i = 0; i < 3; i++)
            jobs.Add(await host.SubmitAsync("ann", 512, 512, steps: 8));
        var timed = new List<(TimeSpan?, TimeSpan?)>();
        foreach (var job in jobs)
        {
            var now = (await host.Jobs.GetAsync(job.Id, new Caller("ann")))!;
            timed.Add((now.EtaStart, now.EtaFinish));
        }
        Assert.Equal([(TimeSpan.Zero, TimeSpan.FromSeconds(17)), (TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(57)), (TimeSpan.FromSeconds(17), TimeSpan.FromSeconds(34))],
            timed);
    }

    private sealed class NotLoaded(TimeSpan load) : IModelStatus
    {
        public ModelState State => ModelState.Unloaded;
        public string? Detail => null;
        public TimeSpan? LoadEstimate => load;
    }
}
