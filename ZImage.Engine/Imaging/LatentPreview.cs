namespace ZImage.Engine.Imaging;

/// <summary>
/// A cheap progress picture straight from the 16-channel latent, one pixel per latent cell: RGB = latent · F + b,
/// then (v + 1) / 2 to [0, 255]. F and b are the Flux VAE latent-to-RGB factors published in ComfyUI's
/// comfy/latent_formats.py (class Flux, latent_rgb_factors and latent_rgb_factors_bias), used there for the same
/// purpose; Z-Image uses the Flux VAE and its latents are in the same (scaled, shifted) space as Flux's.
/// The pipeline feeds it each step's denoised estimate (FlowMatchEulerSchedule.PredictDenoisedFromModelOutput) for a clean
/// preview; the raw latent of an early step is mostly noise.
/// </summary>
public static class LatentPreview
{
    public const int Channels = 16;

    // Rows are latent channels, columns R, G, B.
    private static readonly float[,] Factors =
    {
        { -0.0346f, 0.0244f, 0.0681f },
        { 0.0034f, 0.0210f, 0.0687f },
        { 0.0275f, -0.0668f, -0.0433f },
        { -0.0174f, 0.0160f, 0.0617f },
        { 0.0859f, 0.0721f, 0.0329f },
        { 0.0004f, 0.0383f, 0.0115f },
        { 0.0405f, 0.0861f, 0.0915f },
        { -0.0236f, -0.0185f, -0.0259f },
        { -0.0245f, 0.0250f, 0.1180f },
        { 0.1008f, 0.0755f, -0.0421f },
        { -0.0515f, 0.0201f, 0.0011f },
        { 0.0428f, -0.0012f, -0.0036f },
        { 0.0817f, 0.0765f, 0.0749f },
        { -0.1264f, -0.0522f, -0.1103f },
        { -0.0280f, -0.0881f, -0.0499f },
        { -0.1262f, -0.0982f, -0.0778f },
    };

    private static readonly float[] Bias = [-0.0329f, -0.0718f, -0.0851f];

    /// <summary>Renders a <c>[16, height, width]</c> latent; <paramref name="upscale"/> repeats each pixel (nearest neighbour).</summary>
    public static RgbImage Render(ReadOnlySpan<float> latent, int height, int width, int upscale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (upscale is < 1 or > 8)
            throw new ArgumentOutOfRangeException(nameof(upscale), upscale, "upscale must be between 1 and 8.");
        var plane = height * width;
        if (latent.Length != Channels * plane)
            throw new ArgumentException($"a [{Channels}, {height}, {width}] latent has {Channels * plane} values, got {latent.Length}.", nameof(latent));

        var outWidth = width * upscale;
        var pixels = new byte[plane * 3 * upscale * upscale];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var cell = y * width + x;
                for (var c = 0; c < 3; c++)
                {
                    var v = Bias[c];
                    for (var k = 0; k < Channels; k++)
                        v += latent[k * plane + cell] * Factors[k, c];
                    var b = (byte)Math.Clamp(MathF.Round((v + 1f) * 0.5f * 255f), 0f, 255f);
                    for (var dy = 0; dy < upscale; dy++)
                    {
                        var row = (y * upscale + dy) * outWidth;
                        for (var dx = 0; dx < upscale; dx++)
                            pixels[(row + x * upscale + dx) * 3 + c] = b;
                    }
                }
            }
        }
        return new RgbImage(outWidth, height * upscale, pixels);
    }
}
