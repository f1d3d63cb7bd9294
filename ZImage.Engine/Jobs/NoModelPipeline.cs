using Microsoft.Extensions.Options;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>Registered until the pipeline room registers the real one, so the app starts and says why nothing is made.</summary>
internal sealed class NoModelPipeline : IImagePipeline
{
    public Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        throw new InvalidOperationException("no model is installed; open Settings to install one");
}

/// <summary>Further cards when no pipeline room is registered: each fails its jobs with the same sentence, guarding nothing.</summary>
internal sealed class NoModelCardFactory(IModelFootprintSource footprint, IOptionsMonitor<VramOptions> memory) : IGpuCardFactory
{
    public GpuCard Create(int index, int deviceId)
    {
        var probe = new NoGpuProbe();
        return new GpuCard(index, deviceId, new NoModelPipeline(), new VramGuard(probe, footprint, memory), probe, new UnknownModelStatus());
    }

    private sealed class NoGpuProbe : IGpuMemoryProbe
    {
        public GpuMemoryInfo? Read() => null;
    }
}
