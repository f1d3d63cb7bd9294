using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>
/// Idle unload through the host that owns the sessions, on the tiny self-test model and the CPU provider, with a
/// clock the test moves. (Whether the GPU memory is back is NVML's to say on a CUDA box; this box has none.)
/// </summary>
public sealed class IdleUnloadTests
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private static readonly GenerationRequest Request = new() { Prompt = "a harbour", Width = 256, Height = 256, Steps = 2, Seed = 4 };

    private static PipelineHost Host(int idleMinutes, TimeProvider clock, IModelLoadRecord loads)
    {
        var options = new Fixed<EngineOptions>(new EngineOptions { ModelDirectory = SelfTest, Provider = ProviderChoice.Cpu, IdleUnloadMinutes = idleMinutes });
        var vram = new Fixed<VramOptions>(new VramOptions());
        var catalog = new ModelCatalog(options);
        var guard = new VramGuard(new FakeMemoryProbe(null), new OptionsModelFootprintSource(vram, catalog), vram);
        return new PipelineHost(options, catalog, () => OrtRuntime.Load(), guard, NullLoggerFactory.Instance, clock, loads);
    }

    [Fact]
    public async Task AfterTheIdleMinutesEverySessionIsDisposedAndTheNextRunLoadsTheModelAgain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 2, 0, 0, TimeSpan.Zero));
        var loads = new MemoryModelLoadRecord();
        using var host = Host(5, clock, loads);

        var first = await host.RunAsync(Request, null, CancellationToken.None);
        Assert.Equal(3, host.OpenSessionCount);
        Assert.Equal(ModelState.Ready, host.State);
        Assert.NotNull(loads.Last);
        Assert.Null(host.LoadEstimate);

        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(3, host.OpenSessionCount);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, host.OpenSessionCount);
        Assert.Equal(ModelState.Unloaded, host.State);
        Assert.Equal(loads.Last, host.LoadEstimate);
        Assert.Contains("the next picture loads it", host.Detail);

        var again = await host.RunAsync(Request, null, CancellationToken.None);
        Assert.Equal(3, host.OpenSessionCount);
        Assert.Equal(ModelState.Ready, host.State);
        Assert.Equal(first.Images[0].Image.Pixels, again.Images[0].Image.Pixels);
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

    private sealed class NotLoaded(TimeSpan load) : IModelStatus
    {
        public ModelState State => ModelState.Unloaded;
        public string? Detail => null;
        public TimeSpan? LoadEstimate => load;
    }

    private sealed class Fixed<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
