using System.Globalization;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

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
    public const string ModelName = "Z-Image-Turbo";
    public const int ThumbnailMaxSide = 256;

    /// <summary>The AUTOMATIC1111 <c>parameters</c> text, so A1111 tools and our own drop target read the settings back.</summary>
    public string ToA1111Parameters()
    {
        var p = Parameters;
        var inv = CultureInfo.InvariantCulture;
        string negative = string.IsNullOrEmpty(p.NegativePrompt) ? "" : $"\nNegative prompt: {p.NegativePrompt}";
        return string.Create(inv,
            $"{p.Prompt}{negative}\nSteps: {p.Steps}, Sampler: Euler, CFG scale: {p.Cfg.ToString(inv)}, Seed: {p.Seed}, Size: {p.Width}x{p.Height}, Model: {ModelName}");
    }

    /// <summary>Thumbnail size keeping the aspect ratio, never larger than the image.</summary>
    public static (int Width, int Height) ThumbnailSize(int width, int height)
    {
        double scale = Math.Min(1.0, ThumbnailMaxSide / (double)Math.Max(width, height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }
}
