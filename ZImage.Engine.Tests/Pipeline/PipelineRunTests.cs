using ZImage.Engine.Models;
using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>The pipeline's behaviour around a run on the tiny model: refusals, progress, cancellation.</summary>
public sealed class PipelineRunTests(GoldenFixture fixture) : IClassFixture<GoldenFixture>
{
    [Fact]
    public async Task AnInvalidRequestIsRefusedBeforeAnythingRuns()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            fixture.Pipeline.RunAsync(new GenerationRequest { Prompt = "x", Steps = 0 }, null, CancellationToken.None));
        Assert.Equal("steps", e.ParamName);
        Assert.Contains("steps must be between 1 and 50 (got 0).", e.Message);
    }

    [Fact]
    public void AVaeProviderGivesTheDecoderItsOwnSessionOptionsWithoutTheMainProvidersKeys()
    {
        var options = new EngineOptions
        {
            Provider = ProviderChoice.Cuda,
            ProviderOptions = { ["use_tf32"] = "0" },
            VaeProvider = ProviderChoice.Cpu,
            IntraOpThreads = 3,
        };

        var vae = options.ToVaeSessionOptions(fixture.Runtime);

        Assert.NotNull(vae);
        Assert.Equal(ExecutionProvider.Cpu, vae.Provider);
        Assert.Empty(vae.ProviderOptions);
        Assert.Equal(3, vae.IntraOpThreads);
        options.VaeProvider = ProviderChoice.Cuda;
        Assert.Null(options.ToVaeSessionOptions(fixture.Runtime));
        options.VaeProvider = null;
        Assert.Null(options.ToVaeSessionOptions(fixture.Runtime));
    }

    [Fact]
    public async Task ProgressReportsEveryStepOfEveryImageWithAPreview()
    {
        var seen = new List<GenerationProgress>();
        var request = new GenerationRequest { Prompt = "a red kite", Width = 256, Height = 256, Steps = 4, Count = 2, Seed = 3 };
        var result = await fixture.Pipeline.RunAsync(request, new SyncProgress(seen.Add), CancellationToken.None);

        Assert.Equal([(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3), (1, 4)], seen.Select(p => (p.ImageIndex, p.Step)));
        Assert.All(seen, p => Assert.Equal((4, 2), (p.TotalSteps, p.ImageCount)));
        Assert.All(seen, p => Assert.Equal((32, 32), (p.Preview!.Width, p.Preview.Height)));
        Assert.Equal(4, result.Timings.Steps.Count);      // step i summed over both images
        Assert.Equal((256, 256), (result.Images[0].Image.Width, result.Images[0].Image.Height));
    }

    [Fact]
    public async Task CancellingBetweenStepsStopsTheRunAndTheNextRunStillWorks()
    {
        using var cancel = new CancellationTokenSource();
        var steps = 0;
        var request = new GenerationRequest { Prompt = "a boat", Width = 256, Height = 256, Steps = 50, Seed = 1 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fixture.Pipeline.RunAsync(request,
            new SyncProgress(_ => { if (++steps == 2) cancel.Cancel(); }), cancel.Token));
        Assert.Equal(2, steps);

        var after = await fixture.Pipeline.RunAsync(request with { Steps = 2 }, null, CancellationToken.None);
        Assert.Single(after.Images);
    }

    [Fact]
    public async Task LeanResidencyChangesNoPixel()
    {
        // Lean shrinks the arenas after the text encoder, the final step and the VAE: it only hands free memory
        // back, so the pictures must be the same bytes as resident ones.
        using var releasing = new ZImagePipeline(fixture.Model, fixture.Runtime,
            new InferenceSessionOptions { Provider = ExecutionProvider.Cpu }, _ => ResidencyPolicy.Lean);
        var request = new GenerationRequest { Prompt = "a quiet bay", Width = 256, Height = 256, Steps = 3, Seed = 11, Count = 2 };
        var released = await releasing.RunAsync(request, null, CancellationToken.None);
        var kept = await fixture.Pipeline.RunAsync(request, null, CancellationToken.None);
        Assert.Equal(kept.Images[0].Image.Pixels, released.Images[0].Image.Pixels);
        Assert.Equal(kept.Images[1].Image.Pixels, released.Images[1].Image.Pixels);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the report in order, on the run's thread.</summary>
    private sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
