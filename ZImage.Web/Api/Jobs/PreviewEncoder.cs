using ZImage.Engine.Imaging;

namespace ZImage.Web.Api.Jobs;

/// <summary>Turns a step preview into a small PNG data URL for SSE; scaled down first so each event stays a few KiB.</summary>
public sealed class PreviewEncoder
{
    public string ToDataUrl(RgbImage preview, int maxSide)
    {
        var small = Shrink(preview, maxSide);
        return "data:image/png;base64," + Convert.ToBase64String(EncodePng(small));
    }

    /// <summary>Box-filter down to at most <paramref name="maxSide"/> on the longer side; never enlarges.</summary>
    public static RgbImage Shrink(RgbImage src, int maxSide)
    {
        var longer = Math.Max(src.Width, src.Height);
        if (longer <= maxSide)
            return src;
        var w = Math.Max(1, src.Width * maxSide / longer);
        var h = Math.Max(1, src.Height * maxSide / longer);
        var dst = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            int y0 = y * src.Height / h, y1 = Math.Max(y0 + 1, (y + 1) * src.Height / h);
            for (var x = 0; x < w; x++)
            {
                int x0 = x * src.Width / w, x1 = Math.Max(x0 + 1, (x + 1) * src.Width / w);
                int r = 0, g = 0, b = 0, n = 0;
                for (var sy = y0; sy < y1; sy++)
                for (var sx = x0; sx < x1; sx++)
                {
                    var i = (sy * src.Width + sx) * 3;
                    r += src.Pixels[i];
                    g += src.Pixels[i + 1];
                    b += src.Pixels[i + 2];
                    n++;
                }
                var o = (y * w + x) * 3;
                dst[o] = (byte)(r / n);
                dst[o + 1] = (byte)(g / n);
                dst[o + 2] = (byte)(b / n);
            }
        }
        return new RgbImage(w, h, dst);
    }

    public byte[] EncodePng(RgbImage image) => throw new NotImplementedException("waiting for the PNG codec of branch pure");
}
