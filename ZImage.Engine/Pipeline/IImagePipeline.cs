using ZImage.Engine.Imaging;
using ZImage.Engine.Sampling;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// Prompt in, pictures out. The jobs layer talks to the model only through this, so it can be
/// tested with a fake and run with the tiny or the real model unchanged.
/// </summary>
public interface IImagePipeline
{
    /// <summary>
    /// Runs one request to completion. Cancelling <paramref name="ct"/> stops the run between and
    /// within steps and surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct);
}

/// <summary>
/// Reported after every denoising step. <see cref="Preview"/> is a cheap latent-to-RGB
/// approximation (one pixel per latent cell), not a VAE decode.
/// </summary>
public sealed record GenerationProgress(
    int ImageIndex,
    int ImageCount,
    int Step,
    int TotalSteps,
    TimeSpan Elapsed,
    RgbImage? Preview);

public sealed record GeneratedImage(RgbImage Image, long Seed);

public sealed record GenerationResult(
    IReadOnlyList<GeneratedImage> Images,
    bool PromptTruncated,
    GenerationTimings Timings)
{
    /// <summary>NaN or infinite values seen in the final latents and the VAE outputs; anything above 0 means a broken model or an fp16 overflow.</summary>
    public long NonFiniteValues { get; init; }

    /// <summary>The manifest's model name (the self-test model says so), written into each PNG's settings.</summary>
    public string ModelName { get; init; } = ImageSettings.DefaultModel;

    /// <summary>The sampler shift the run used (from the manifest).</summary>
    public double SamplerShift { get; init; } = FlowMatchEulerSchedule.DefaultShift;
}

/// <summary>Wall time per stage, summed over the images of the request.</summary>
public sealed record GenerationTimings(
    TimeSpan Tokenize,
    TimeSpan TextEncoder,
    IReadOnlyList<TimeSpan> Steps,
    TimeSpan VaeDecode,
    TimeSpan Total);
