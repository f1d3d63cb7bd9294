using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>The registered pipeline: model state for the status bar, and a model switch in Settings while a job runs.</summary>
public sealed class PipelineHostTests
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");

    private static (PipelineHost Host, Monitor Options) Host(string? modelDirectory)
    {
        var options = new Monitor(new EngineOptions { ModelDirectory = modelDirectory, Provider = ProviderChoice.Cpu });
        var vram = new SettableMonitor<VramOptions>(new VramOptions());
        var catalog = new ModelCatalog(options);
        var guard = new VramGuard(new NoGpu(), new OptionsModelFootprintSource(vram, catalog), vram);
        return (new PipelineHost(options, catalog, () => OrtRuntime.Load(), guard, NullLoggerFactory.Instance), options);
    }

    [Fact]
    public async Task WithoutAModelTheStateSaysSoAndARunExplainsWhereToGo()
    {
        var (host, _) = Host(null);
        using var _ = host;
        Assert.Equal(ModelState.NotInstalled, host.State);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.RunAsync(new GenerationRequest { Prompt = "x", Width = 256, Height = 256, Steps = 1 }, null, CancellationToken.None));
        Assert.Contains("open Settings", e.Message);
    }

    [Fact]
    public void ABrokenFolderIsAnErrorNamingTheProblem()
    {
        var (host, _) = Host(Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N")));
        using var _ = host;
        Assert.Equal(ModelState.Error, host.State);
        Assert.Contains("does not exist", host.Detail);
    }

    [Fact]
    public async Task AJobOnAFolderThatFailsItsCheckFailsWithAPathFreeSentence()
    {
        var folder = Path.Combine(Path.GetTempPath(), "zimage-secret-place-" + Guid.NewGuid().ToString("N"));
        var (host, _) = Host(folder);
        using var _ = host;

        var e = await Assert.ThrowsAsync<ZImage.Engine.Models.ModelFolderException>(() =>
            host.RunAsync(new GenerationRequest { Prompt = "x", Width = 256, Height = 256, Steps = 1 }, null, CancellationToken.None));

        Assert.Equal("The model can't be used: the model folder does not exist. An administrator can fix it in Settings.", e.Message);
        Assert.DoesNotContain("zimage-secret-place", host.Detail);
    }

    [Fact]
    public async Task SwitchingTheModelDuringARunLetsTheRunFinishAndTheNextRunUsesTheNewSettings()
    {
        var (host, options) = Host(SelfTest);
        using var _ = host;
        Assert.Equal(ModelState.Ready, host.State);
        var switched = false;
        var request = new GenerationRequest { Prompt = "a harbour", Width = 256, Height = 256, Steps = 6, Seed = 9 };
        var result = await host.RunAsync(request, new SyncProgress(p =>
        {
            if (p.Step == 2 && !switched)
            {
                switched = true;
                // Same folder, other thread count: a different pipeline, as a Settings change would make.
                options.Set(new EngineOptions { ModelDirectory = SelfTest, Provider = ProviderChoice.Cpu, IntraOpThreads = 1 });
            }
        }), CancellationToken.None);

        Assert.True(switched);
        Assert.Single(result.Images);
        var after = await host.RunAsync(request, null, CancellationToken.None);
        Assert.Equal(result.Images[0].Image.Pixels, after.Images[0].Image.Pixels);
    }

    private sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    private sealed class NoGpu : IGpuMemoryProbe
    {
        public GpuMemoryInfo? Read() => null;
    }

    private sealed class Monitor(EngineOptions value) : SettableMonitor<EngineOptions>(value);
}
