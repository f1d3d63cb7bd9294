namespace ZImage.Engine.Imaging;

/// <summary>
/// A step's live preview, rendered when someone first looks at it (<see cref="Image"/>), once, on the looker's thread.
/// The denoising thread only hands over a copy of the step's denoised estimate; a step no watcher reads (a slow
/// watcher skips stale steps) is never rendered, and the latent copy is released once the picture exists.
/// </summary>
public sealed class PreviewPicture
{
    private readonly Lazy<RgbImage> _image;

    /// <summary>An already rendered preview (a stand-in pipeline's, or one read back from the shared store).</summary>
    public PreviewPicture(RgbImage image)
    {
        _image = new Lazy<RgbImage>(image);
        (Width, Height) = (image.Width, image.Height);
    }

    private PreviewPicture(Func<RgbImage> render, int width, int height)
    {
        _image = new Lazy<RgbImage>(render, LazyThreadSafetyMode.ExecutionAndPublication);
        (Width, Height) = (width, height);
    }

    /// <summary>
    /// The preview of a <c>[16, height, width]</c> latent (<see cref="LatentPreview"/>), one pixel per latent cell.
    /// <paramref name="latent"/> becomes the preview's own: the caller hands over a copy it no longer writes.
    /// </summary>
    public static PreviewPicture FromLatent(float[] latent, int height, int width)
    {
        var expected = LatentPreview.Channels * height * width;
        if (latent.Length != expected)
            throw new ArgumentException($"a [{LatentPreview.Channels}, {height}, {width}] latent has {expected} values, got {latent.Length}.", nameof(latent));
        return new PreviewPicture(() => LatentPreview.Render(latent, height, width), width, height);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Whether anyone has looked yet (tests check that the pipeline itself never renders).</summary>
    internal bool IsRendered => _image.IsValueCreated;

    /// <summary>The picture, rendered on first use by whichever thread asks first.</summary>
    public RgbImage Image => _image.Value;
}
