using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.History;

public class InterimPngImageWriterTests
{
    private static Dictionary<string, byte[]> Chunks(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var chunks = new Dictionary<string, byte[]>();
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            chunks[Encoding.ASCII.GetString(png, at + 4, 4)] = png[(at + 8)..(at + 8 + length)];
            at += 12 + length;
        }
        return chunks;
    }

    private static byte[] Pixels(Dictionary<string, byte[]> chunks, int width, int height)
    {
        using var z = new ZLibStream(new MemoryStream(chunks["IDAT"]), CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var rows = raw.ToArray();
        Assert.Equal(height * (1 + width * 3), rows.Length);
        return Enumerable.Range(0, height).SelectMany(y => rows.Skip(y * (1 + width * 3) + 1).Take(width * 3)).ToArray();
    }

    [Fact]
    public async Task WritesThePixelsTheParametersAndASmallThumbnail()
    {
        var pixels = Enumerable.Range(0, 640 * 320 * 3).Select(i => (byte)(i * 7)).ToArray();
        var image = new RgbImage(640, 320, pixels);
        var parameters = new GenerationRequest { Prompt = "a fox", NegativePrompt = "blur", Width = 640, Height = 320, Steps = 8, Seed = 42 };
        string dir = JobsHost.NewRoot();
        string png = Path.Combine(dir, "day", "a.png"), thumb = Path.Combine(dir, "day", "thumbs", "a.png");

        await new InterimPngImageWriter().WriteAsync(image, new ImageMetadata("job", "ann", 0, parameters, DateTimeOffset.UnixEpoch), png, thumb, default);

        var main = Chunks(File.ReadAllBytes(png));
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(main["IHDR"]));
        Assert.Equal(pixels, Pixels(main, 640, 320));
        Assert.Equal("parameters\0a fox\nNegative prompt: blur\nSteps: 8, Sampler: Euler, CFG scale: 0, Seed: 42, Size: 640x320, Model: Z-Image-Turbo",
            Encoding.Latin1.GetString(main["tEXt"]));
        var small = Chunks(File.ReadAllBytes(thumb));
        Assert.Equal((256, 128), (BinaryPrimitives.ReadInt32BigEndian(small["IHDR"]), BinaryPrimitives.ReadInt32BigEndian(small["IHDR"].AsSpan(4))));
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task ChinesePromptsAreKeptAsUtf8()
    {
        string dir = JobsHost.NewRoot();
        string png = Path.Combine(dir, "c.png");
        var parameters = new GenerationRequest { Prompt = "一只小猫", Width = 16, Height = 16, Seed = 1 };

        await new InterimPngImageWriter().WriteAsync(FakePipeline.Pixel(16, 16, 9), new ImageMetadata("j", "ann", 0, parameters, default), png, png + ".thumb.png", default);

        var itxt = Chunks(File.ReadAllBytes(png))["iTXt"];
        Assert.StartsWith("一只小猫\nSteps: 8", Encoding.UTF8.GetString(itxt.AsSpan("parameters".Length + 5)));
    }
}
