using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.History;

/// <summary>
/// Minimal PNG writer (8-bit RGB, filter 0, zlib via the framework) with the A1111 <c>parameters</c>
/// chunk, so the app can save pictures until the Imaging room's codec is wired in its place.
/// Thumbnails are box-averaged.
/// </summary>
public sealed class InterimPngImageWriter : IImageWriter
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    public async Task WriteAsync(RgbImage image, ImageMetadata metadata, string pngPath, string thumbnailPath, CancellationToken ct)
    {
        var (tw, th) = ImageMetadata.ThumbnailSize(image.Width, image.Height);
        await WriteAtomicallyAsync(pngPath, Encode(image, metadata.ToA1111Parameters()), ct);
        await WriteAtomicallyAsync(thumbnailPath, Encode(Downscale(image, tw, th), null), ct);
    }

    internal static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        await File.WriteAllBytesAsync(temp, bytes, ct);
        File.Move(temp, path, overwrite: true);
    }

    internal static RgbImage Downscale(RgbImage source, int width, int height)
    {
        if (width == source.Width && height == source.Height)
            return source;
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int y0 = y * source.Height / height, y1 = Math.Max(y0 + 1, (y + 1) * source.Height / height);
            for (int x = 0; x < width; x++)
            {
                int x0 = x * source.Width / width, x1 = Math.Max(x0 + 1, (x + 1) * source.Width / width);
                int r = 0, g = 0, b = 0, n = 0;
                for (int sy = y0; sy < y1; sy++)
                {
                    for (int sx = x0; sx < x1; sx++)
                    {
                        int i = (sy * source.Width + sx) * 3;
                        r += source.Pixels[i];
                        g += source.Pixels[i + 1];
                        b += source.Pixels[i + 2];
                        n++;
                    }
                }
                int o = (y * width + x) * 3;
                pixels[o] = (byte)((r + n / 2) / n);
                pixels[o + 1] = (byte)((g + n / 2) / n);
                pixels[o + 2] = (byte)((b + n / 2) / n);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private static byte[] Encode(RgbImage image, string? parameters)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), image.Height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour
        WriteChunk(output, "IHDR", header);

        // tEXt is Latin-1 only; Chinese prompts go in iTXt (UTF-8), as A1111's own writer does.
        if (parameters is not null && parameters.All(ch => ch <= 0xFF))
            WriteChunk(output, "tEXt", [.. Encoding.Latin1.GetBytes("parameters"), 0, .. Encoding.Latin1.GetBytes(parameters)]);
        else if (parameters is not null)
            WriteChunk(output, "iTXt", [.. Encoding.Latin1.GetBytes("parameters"), 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(parameters)]);

        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                int stride = image.Width * 3;
                for (int y = 0; y < image.Height; y++)
                {
                    z.WriteByte(0); // filter: none
                    z.Write(image.Pixels, y * stride, stride);
                }
            }
            WriteChunk(output, "IDAT", compressed.ToArray());
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        output.Write(buffer);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        uint crc = 0xFFFFFFFF;
        foreach (byte b in typeBytes)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        foreach (byte b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(buffer, crc ^ 0xFFFFFFFF);
        output.Write(buffer);
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
