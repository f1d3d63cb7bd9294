using System.Buffers.Binary;
using ZImage.Engine.Imaging;

namespace ZImage.Web.Ui.Images;

/// <summary>
/// The live preview is tiny (one pixel per latent cell) and replaced every step, so it travels as an
/// uncompressed BMP data URL: no codec work on the GPU worker's thread, and every browser shows BMP.
/// </summary>
public static class PreviewImage
{
    public static string ToDataUrl(RgbImage image) => "data:image/bmp;base64," + Convert.ToBase64String(ToBmp(image));

    public static byte[] ToBmp(RgbImage image)
    {
        var rowBytes = (image.Width * 3 + 3) & ~3;
        var pixelBytes = rowBytes * image.Height;
        var bmp = new byte[54 + pixelBytes];
        var span = bmp.AsSpan();
        span[0] = (byte)'B';
        span[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(span[2..], bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[10..], 54);
        BinaryPrimitives.WriteInt32LittleEndian(span[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(span[18..], image.Width);
        // A negative height stores rows top-down, the order RgbImage already has.
        BinaryPrimitives.WriteInt32LittleEndian(span[22..], -image.Height);
        BinaryPrimitives.WriteInt16LittleEndian(span[26..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(span[28..], 24);
        BinaryPrimitives.WriteInt32LittleEndian(span[34..], pixelBytes);
        var src = image.Pixels;
        for (var y = 0; y < image.Height; y++)
        {
            var row = 54 + y * rowBytes;
            for (var x = 0; x < image.Width; x++)
            {
                var s = (y * image.Width + x) * 3;
                bmp[row + x * 3] = src[s + 2];
                bmp[row + x * 3 + 1] = src[s + 1];
                bmp[row + x * 3 + 2] = src[s];
            }
        }
        return bmp;
    }
}
