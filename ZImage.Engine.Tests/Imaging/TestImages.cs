using ZImage.Engine.Imaging;

namespace ZImage.Engine.Tests.Imaging;

internal static class TestImages
{
    /// <summary>Smooth gradients with seeded noise on top: exercises every filter choice and the deflate path.</summary>
    public static RgbImage Photo(int width, int height, int seed = 1)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = (y * width + x) * 3;
                pixels[o] = (byte)Math.Clamp(x * 255 / Math.Max(1, width - 1) + random.Next(-8, 9), 0, 255);
                pixels[o + 1] = (byte)Math.Clamp(y * 255 / Math.Max(1, height - 1) + random.Next(-8, 9), 0, 255);
                pixels[o + 2] = (byte)random.Next(256);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    public static RgbImage Solid(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = r;
            pixels[i + 1] = g;
            pixels[i + 2] = b;
        }
        return new RgbImage(width, height, pixels);
    }

    public static string FixturePath(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ZImage.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"no ZImage.sln above {AppContext.BaseDirectory}");
    }
}
