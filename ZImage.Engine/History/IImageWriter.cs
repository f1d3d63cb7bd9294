using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Engine.History;

/// <summary>
/// Writes one generated picture and its thumbnail (longest side at most 256 px). Each file either
/// exists complete or not at all (write to a temporary name, then rename), because the store
/// commits the image row only after this returns. The PNG codec of Imaging/ implements it.
/// </summary>
public interface IImageWriter
{
    Task WriteAsync(RgbImage image, ImageMetadata metadata, string pngPath, string thumbnailPath, CancellationToken ct);
}

/// <summary>What goes into the PNG's text chunks. <see cref="Parameters"/> has the image's own seed and Count = 1.</summary>
public sealed record ImageMetadata(string JobId, string UserName, int Index, GenerationRequest Parameters, DateTimeOffset CreatedAt)
{
    /// <summary>The model that made the picture, as its manifest names it.</summary>
    public string ModelName { get; init; } = ImageSettings.DefaultModel;

    public double SamplerShift { get; init; } = FlowMatchEulerSchedule.DefaultShift;
}
