using ZImage.Engine.Imaging;

namespace ZImage.Engine.History;

/// <summary>
/// Saves a picture with our PNG codec: the A1111 <c>parameters</c> chunk plus the <c>zimage</c> JSON chunk, and a
/// thumbnail of at most 256 px. Both files go through a temp file and a rename, so a crash leaves either the whole
/// file or none, and the store commits the row only after both exist.
/// </summary>
public sealed class PngImageWriter : IImageWriter
{
    public Task WriteAsync(RgbImage image, ImageMetadata metadata, string pngPath, string thumbnailPath, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // Parameters already carry this image's own seed and Count = 1, hence index 0.
        var settings = ImageSettings.FromRequest(metadata.Parameters, 0, metadata.ModelName, metadata.SamplerShift);
        Directory.CreateDirectory(Path.GetDirectoryName(pngPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(thumbnailPath)!);
        GenerationPng.Save(pngPath, image, settings);
        ct.ThrowIfCancellationRequested();
        var thumbnail = Thumbnail.Create(image);
        AtomicFile.Write(thumbnailPath, s => PngCodec.Write(s, thumbnail));
        return Task.CompletedTask;
    }
}
