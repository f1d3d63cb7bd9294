namespace ZImage.Engine.Imaging;

/// <summary>Downscaled copies for history grids: an area (box) filter, which is what downscaling by large factors needs to avoid aliasing.</summary>
public static class Thumbnail
{
    public const int DefaultMaxSide = 256;

    /// <summary>Fits the image into <paramref name="maxSide"/>², keeping the aspect ratio; a smaller image comes back unchanged.</summary>
    public static RgbImage Create(RgbImage image, int maxSide = DefaultMaxSide)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSide);
        var longest = Math.Max(image.Width, image.Height);
        if (longest <= maxSide)
            return image;
        var scale = (double)maxSide / longest;
        var width = Math.Clamp((int)Math.Round(image.Width * scale), 1, maxSide);
        var height = Math.Clamp((int)Math.Round(image.Height * scale), 1, maxSide);
        return Resize(image, width, height);
    }

    /// <summary>
    /// Each output pixel is the mean of the source area it covers, partial source pixels weighted by the covered
    /// fraction; done as two separable passes (rows, then columns) in float.
    /// </summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (width < 1 || height < 1 || width > image.Width || height > image.Height)
            throw new ArgumentOutOfRangeException(nameof(width), $"the target {width}x{height} must be between 1x1 and the source {image.Width}x{image.Height} (this filter only shrinks).");

        var xWeights = AreaWeights(image.Width, width);
        var yWeights = AreaWeights(image.Height, height);

        var horizontal = new float[image.Height * width * 3];
        for (var y = 0; y < image.Height; y++)
        {
            var src = image.Pixels.AsSpan(y * image.Width * 3, image.Width * 3);
            for (var x = 0; x < width; x++)
            {
                float r = 0, g = 0, b = 0;
                foreach (var (index, weight) in xWeights[x])
                {
                    r += src[index * 3] * weight;
                    g += src[index * 3 + 1] * weight;
                    b += src[index * 3 + 2] * weight;
                }
                var o = (y * width + x) * 3;
                horizontal[o] = r;
                horizontal[o + 1] = g;
                horizontal[o + 2] = b;
            }
        }

        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var i = 0; i < width * 3; i++)
            {
                float sum = 0;
                foreach (var (index, weight) in yWeights[y])
                    sum += horizontal[index * width * 3 + i] * weight;
                pixels[y * width * 3 + i] = (byte)Math.Clamp(MathF.Round(sum), 0, 255);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private static (int Index, float Weight)[][] AreaWeights(int source, int target)
    {
        var ratio = (double)source / target;
        var weights = new (int, float)[target][];
        for (var t = 0; t < target; t++)
        {
            double start = t * ratio, end = (t + 1) * ratio;
            var list = new List<(int, float)>();
            for (var s = (int)Math.Floor(start); s < Math.Min(source, (int)Math.Ceiling(end)); s++)
            {
                var covered = Math.Min(end, s + 1) - Math.Max(start, s);
                if (covered > 1e-9)
                    list.Add((s, (float)(covered / ratio)));
            }
            weights[t] = list.ToArray();
        }
        return weights;
    }
}
