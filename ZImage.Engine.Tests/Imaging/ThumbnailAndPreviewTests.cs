using ZImage.Engine.Imaging;

namespace ZImage.Engine.Tests.Imaging;

public class ThumbnailTests
{
    [Theory]
    [InlineData(1024, 1024, 256, 256)]
    [InlineData(1344, 576, 256, 110)]
    [InlineData(720, 1280, 144, 256)]
    public void ThumbnailFitsTheLongestSideInto256(int width, int height, int expectedWidth, int expectedHeight)
    {
        var thumb = Thumbnail.Create(TestImages.Solid(width, height, 10, 200, 30));

        Assert.Equal((expectedWidth, expectedHeight), (thumb.Width, thumb.Height));
        Assert.All(thumb.Pixels.Chunk(3), p => Assert.Equal([10, 200, 30], p));
    }

    [Fact]
    public void ASmallImageIsReturnedAsItIs()
    {
        var image = TestImages.Photo(200, 100);
        Assert.Same(image, Thumbnail.Create(image));
    }

    [Fact]
    public void TheBoxFilterAveragesTheCoveredArea()
    {
        // 4x2 checkerboard of black and white down to 2x1: each output pixel covers two black and two white.
        byte[] pixels = [0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0];
        var small = Thumbnail.Resize(new RgbImage(4, 2, pixels), 2, 1);

        Assert.Equal(Enumerable.Repeat((byte)128, 6), small.Pixels);
    }

    [Fact]
    public void FractionalCoverageIsWeighted()
    {
        // 3 pixels (0, 90, 180) into 2: the first output covers 0 fully and half of 90, the second half of 90 and 180.
        byte[] pixels = [0, 0, 0, 90, 90, 90, 180, 180, 180];
        var small = Thumbnail.Resize(new RgbImage(3, 1, pixels), 2, 1);

        Assert.Equal([30, 30, 30, 150, 150, 150], small.Pixels);
    }
}

public class LatentPreviewTests
{
    [Fact]
    public void AZeroLatentShowsTheBiasColour()
    {
        var preview = LatentPreview.Render(new float[16 * 2 * 3], height: 2, width: 3);

        // bias (-0.0329, -0.0718, -0.0851) → (v + 1) / 2 * 255
        Assert.Equal((3, 2), (preview.Width, preview.Height));
        Assert.All(preview.Pixels.Chunk(3), p => Assert.Equal([123, 118, 117], p));
    }

    [Fact]
    public void EachChannelAddsItsFactorRow()
    {
        var latent = new float[16];
        latent[12] = 5f; // row 12 of the Flux table: (0.0817, 0.0765, 0.0749)
        var preview = LatentPreview.Render(latent, 1, 1);

        byte Expected(float bias, float factor) => (byte)MathF.Round((bias + 5f * factor + 1f) / 2f * 255f);
        Assert.Equal([Expected(-0.0329f, 0.0817f), Expected(-0.0718f, 0.0765f), Expected(-0.0851f, 0.0749f)], preview.Pixels);
    }

    [Fact]
    public void UpscaleRepeatsEachCell()
    {
        var latent = new float[16 * 2];
        latent[0 * 2 + 1] = -40f; // channel 0, cell (0, 1) saturates
        var preview = LatentPreview.Render(latent, height: 1, width: 2, upscale: 2);

        Assert.Equal((4, 2), (preview.Width, preview.Height));
        var row0 = preview.Pixels.AsSpan(0, 12).ToArray();
        var row1 = preview.Pixels.AsSpan(12, 12).ToArray();
        Assert.Equal(row0, row1);
        Assert.Equal(row0[0..3], row0[3..6]);
        Assert.Equal(row0[6..9], row0[9..12]);
        Assert.NotEqual(row0[0..3], row0[6..9]);
    }

    [Fact]
    public void AWrongLatentLengthIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => LatentPreview.Render(new float[15], 1, 1));
        Assert.Contains("16", e.Message);
    }
}
