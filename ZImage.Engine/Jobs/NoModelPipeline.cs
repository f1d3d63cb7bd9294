using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>Registered until the pipeline room registers the real one, so the app starts and says why nothing is made.</summary>
internal sealed class NoModelPipeline : IImagePipeline
{
    public Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        throw new InvalidOperationException("no model is installed; open Settings to install one");
}
