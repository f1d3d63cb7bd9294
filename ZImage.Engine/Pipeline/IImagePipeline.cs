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

    /// <summary>
    /// As <see cref="RunAsync(GenerationRequest, IProgress{GenerationProgress}?, CancellationToken)"/>, and hands each
    /// picture to <paramref name="finished"/> as soon as it is decoded, so the jobs layer can save and show picture 1
    /// while picture 2 is denoised. The report runs on the pipeline's thread: it must only queue. Every picture of the
    /// result is reported once, in order, before the run returns. A pipeline that cannot do better reports them all at
    /// the end (this default).
    /// </summary>
    async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress,
        IProgress<FinishedImage>? finished, CancellationToken ct)
    {
        var result = await RunAsync(request, progress, ct).ConfigureAwait(false);
        for (var i = 0; i < result.Images.Count; i++)
            finished?.Report(new FinishedImage(i, result.Images[i], result.ModelName, result.SamplerShift));
        return result;
    }
}

/// <summary>
/// Reported after every denoising step. <see cref="Preview"/> is a cheap latent-to-RGB approximation of the step's
/// denoised estimate (one pixel per latent cell, see <see cref="LatentPreview"/>), not a VAE decode, rendered by whoever
/// first looks at it (<see cref="PreviewPicture"/>), never on the denoising thread.
/// </summary>
public sealed record GenerationProgress(
    int ImageIndex,
    int ImageCount,
    int Step,
    int TotalSteps,
    TimeSpan Elapsed,
    PreviewPicture? Preview);

public sealed record GeneratedImage(RgbImage Image, long Seed);

/// <summary>
/// Picture <see cref="ImageIndex"/> (0-based within the request) is decoded and final; <see cref="ModelName"/> and
/// <see cref="SamplerShift"/> as the run's <see cref="GenerationResult"/> will say, for the picture's PNG settings.
/// </summary>
public sealed record FinishedImage(int ImageIndex, GeneratedImage Image, string ModelName, double SamplerShift);

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
