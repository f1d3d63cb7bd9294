using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.History;

public class PngImageWriterTests
{
    [Fact]
    public async Task SavesPixelsEverySettingAndASmallThumbnail()
    {
        var pixels = Enumerable.Range(0, 640 * 320 * 3).Select(i => (byte)(i * 7)).ToArray();
        var image = new RgbImage(640, 320, pixels);
        var parameters = new GenerationRequest { Prompt = "一只小猫 and a fox", NegativePrompt = "blur", Width = 640, Height = 320, Steps = 8, Cfg = 3.5f, Seed = 42 };
        var dir = JobsHost.NewRoot();
        string png = Path.Combine(dir, "day", "a.png"), thumb = Path.Combine(dir, "day", "thumbs", "a.png");

        var metadata = new ImageMetadata("job", "ann", 0, parameters, DateTimeOffset.UnixEpoch) { ModelName = "self-test-tiny" };
        await new PngImageWriter().WriteAsync(image, metadata, png, thumb, default);

        var saved = PngCodec.Decode(File.ReadAllBytes(png));
        Assert.Equal(pixels, saved.Image.Pixels);
        using (var stream = File.OpenRead(png))
            Assert.Equal(parameters, GenerationPng.ReadSettings(stream)!.ToRequest());
        using (var stream = File.OpenRead(png))
        {
            var a1111 = GenerationPng.ReadParameters(stream)!;
            Assert.Equal("一只小猫 and a fox", a1111.Prompt);
            Assert.Equal(42, a1111.Seed);
            Assert.Equal("self-test-tiny", a1111.Model);
        }
        var small = PngCodec.Decode(File.ReadAllBytes(thumb)).Image;
        Assert.Equal((256, 128), (small.Width, small.Height));
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp*", SearchOption.AllDirectories));
    }
}
