using ZImage.Engine.Models;
using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

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

    [Fact]
    public async Task EachPictureIsHandedOverAsSoonAsItIsDecodedWhileTheModelStaysLoaded()
    {
        var timeline = new List<string>();
        var request = new GenerationRequest { Prompt = "a red kite", Width = 256, Height = 256, Steps = 2, Count = 3, Seed = 5 };

        var result = await fixture.Pipeline.RunAsync(request, new SyncProgress(p => timeline.Add($"step {p.ImageIndex}.{p.Step}")),
            new SyncReport<FinishedImage>(f => timeline.Add($"picture {f.ImageIndex}")), CancellationToken.None);

        // Picture 1 is ready before picture 2's first step: the jobs layer saves and shows it while 2 is made.
        Assert.Equal(["step 0.1", "step 0.2", "picture 0", "step 1.1", "step 1.2", "picture 1", "step 2.1", "step 2.2", "picture 2"], timeline);
        Assert.Equal(3, result.Images.Count);
    }

    [Fact]
    public async Task UnderLeanResidencyPicturesAreHandedOverOneByOneAfterTheLastStepAndAreTheSamePictures()
    {
        // Lean keeps the transformer's and the VAE's workspaces apart, so decoding waits for the last step.
        using var lean = new ZImagePipeline(fixture.Model, fixture.Runtime,
            new InferenceSessionOptions { Provider = ExecutionProvider.Cpu }, _ => ResidencyPolicy.Lean);
        var timeline = new List<string>();
        var handed = new List<FinishedImage>();
        var request = new GenerationRequest { Prompt = "a quiet bay", Width = 256, Height = 256, Steps = 1, Count = 2, Seed = 11 };

        var result = await lean.RunAsync(request, new SyncProgress(p => timeline.Add($"step {p.ImageIndex}.{p.Step}")),
            new SyncReport<FinishedImage>(f => { timeline.Add($"picture {f.ImageIndex}"); handed.Add(f); }), CancellationToken.None);

        Assert.Equal(["step 0.1", "step 1.1", "picture 0", "picture 1"], timeline);
        Assert.Equal(result.Images, handed.Select(f => f.Image));
        Assert.All(handed, f => Assert.Equal((fixture.Model.Manifest.ModelName, fixture.Model.Manifest.SamplerShift), (f.ModelName, f.SamplerShift)));
    }

    [Fact]
    public async Task TheDenoisingThreadHandsOverEachStepsPreviewUnrenderedAndTheFirstLookRendersItOnce()
    {
        var seen = new List<PreviewPicture>();
        var request = new GenerationRequest { Prompt = "a kite", Width = 256, Height = 256, Steps = 3, Seed = 8 };

        await fixture.Pipeline.RunAsync(request, new SyncProgress(p => seen.Add(p.Preview!)), CancellationToken.None);

        Assert.Equal(3, seen.Count);
        Assert.All(seen, p => Assert.False(p.IsRendered, "the pipeline rendered a preview on its own thread"));
        var first = seen[0].Image;
        Assert.Same(first, seen[0].Image);
        Assert.Equal((32, 32), (first.Width, first.Height));
        Assert.False(seen[1].IsRendered); // a step nobody shows costs nothing
    }

    [Fact]
    public async Task TheLivePreviewShowsEachStepsDenoisedEstimateNotTheNoisyLatent()
    {
        using var pipeline = new ZImagePipeline(fixture.Model, fixture.Runtime, new InferenceSessionOptions { Provider = ExecutionProvider.Cpu });
        var request = new GenerationRequest { Prompt = "a lighthouse", Width = 256, Height = 256, Steps = 4, Seed = 21 };
        var m = fixture.Model.Manifest;
        var latents = new List<float[]> { GaussianNoise.Create(request.Seed, m.LatentChannels, 32, 32) };
        pipeline.StepObserver = (_, _, latent) => latents.Add([.. latent]);
        var previews = new List<RgbImage>();

        await pipeline.RunAsync(request, new SyncProgress(p => previews.Add(p.Preview!.Image)), CancellationToken.None);

        // From two consecutive latents the step's model output is o = (before - after) / dt, and its estimate
        // x0 = before + sigma * o (FlowMatchEulerSchedule.PredictDenoisedFromModelOutput).
        var schedule = FlowMatchEulerSchedule.Create(request.Steps, m.SamplerShift);
        for (var step = 0; step < request.Steps; step++)
        {
            var (before, after) = (latents[step], latents[step + 1]);
            var estimate = before.Select((b, i) => b + schedule.Sigma(step) * ((b - after[i]) / schedule.StepSize(step))).ToArray();
            var expected = LatentPreview.Render(estimate, 32, 32).Pixels;
            Assert.True(expected.Zip(previews[step].Pixels).All(p => Math.Abs(p.First - p.Second) <= 1), $"step {step + 1}'s preview is not its denoised estimate");
        }
        // The first step's latent is still almost all noise, and the preview is not it.
        Assert.NotEqual(LatentPreview.Render(latents[1], 32, 32).Pixels, previews[0].Pixels);
        // At the last step (sigma to 0) the estimate is the final latent itself.
        Assert.Equal(LatentPreview.Render(latents[^1], 32, 32).Pixels, previews[^1].Pixels);
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the report in order, on the run's thread.</summary>
    private sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    private sealed class SyncReport<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
