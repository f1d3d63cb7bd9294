using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ZImage.Engine.Imaging;

/// <summary>
/// Our PNG codec on System.IO.Compression. Writes 8-bit RGB, non-interlaced, with text chunks before the image
/// data. Reads 8-bit gray, gray+alpha, RGB, RGBA and palette images without interlacing (what AUTOMATIC1111,
/// ComfyUI and browsers save), returning RGB; anything else is refused with a message saying what it is.
/// </summary>
public static class PngCodec
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Guards allocations when reading untrusted files: 16384² RGBA is 1 GiB already.
    public const int MaxSide = 16384;

    private static readonly Encoding Latin1 = Encoding.Latin1;

    public static byte[] Encode(RgbImage image, IReadOnlyList<PngText>? text = null)
    {
        var buffer = new MemoryStream(image.Pixels.Length / 2 + 1024);
        Write(buffer, image, text);
        return buffer.ToArray();
    }

    public static void Write(Stream output, RgbImage image, IReadOnlyList<PngText>? text = null) =>
        Write(output, image, text, PngImageData.DefaultLevel);

    /// <summary>With a chosen zlib level (0-9): tests and benchmarks compare levels.</summary>
    internal static byte[] Encode(RgbImage image, IReadOnlyList<PngText>? text, int zlibLevel)
    {
        var buffer = new MemoryStream(image.Pixels.Length / 2 + 1024);
        Write(buffer, image, text, zlibLevel);
        return buffer.ToArray();
    }

    private static void Write(Stream output, RgbImage image, IReadOnlyList<PngText>? text, int zlibLevel)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(image);
        output.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: RGB
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering
        ihdr[12] = 0; // no interlace
        WriteChunk(output, "IHDR", ihdr);

        foreach (var t in text ?? [])
            WriteChunk(output, TextChunkType(t), TextChunkData(t));

        var data = PngImageData.Compress(image, zlibLevel).AsSpan();
        // Conventional IDAT size; readers concatenate them, and small chunks keep memory flat for streaming readers.
        const int idatSize = 1 << 18;
        for (var offset = 0; offset < data.Length; offset += idatSize)
            WriteChunk(output, "IDAT", data.Slice(offset, Math.Min(idatSize, data.Length - offset)));
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
    }

    public static PngFile Read(Stream input)
    {
        var (image, text) = ReadCore(input, decodePixels: true);
        return new PngFile(image!, text);
    }

    public static PngFile Decode(byte[] png) => Read(new MemoryStream(png, writable: false));

    /// <summary>Only the text chunks, without inflating the pixels: what drag-and-drop of a settings PNG needs.</summary>
    public static IReadOnlyList<PngText> ReadText(Stream input) => ReadCore(input, decodePixels: false).Text;

    private static string TextChunkType(PngText t) => IsLatin1(t.Text) ? "tEXt" : "iTXt";

    private static byte[] TextChunkData(PngText t)
    {
        CheckKeyword(t.Keyword);
        var keyword = Latin1.GetBytes(t.Keyword);
        if (IsLatin1(t.Text))
            return [.. keyword, 0, .. Latin1.GetBytes(t.Text)];
        // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8.
        return [.. keyword, 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(t.Text)];
    }

    private static void CheckKeyword(string keyword)
    {
        if (keyword.Length is < 1 or > 79 || keyword[0] == ' ' || keyword[^1] == ' '
            || keyword.Any(c => c is < ' ' or > '\u00FF' or (> '~' and < '\u00A1')))
            throw new ArgumentException($"PNG text keyword '{keyword}' must be 1-79 printable Latin-1 characters without leading or trailing spaces.", nameof(keyword));
    }

    private static bool IsLatin1(string s) => !s.Any(c => c > '\u00FF');

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        Encoding.ASCII.GetBytes(type, header[4..]);
        output.Write(header);
        output.Write(data);
        var crc = Crc32.Append(Crc32.Start, header[4..]);
        crc = Crc32.Finish(Crc32.Append(crc, data));
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(trailer, crc);
        output.Write(trailer);
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static (RgbImage? Image, List<PngText> Text) ReadCore(Stream input, bool decodePixels)
    {
        ArgumentNullException.ThrowIfNull(input);
        Span<byte> signature = stackalloc byte[8];
        if (!TryReadExactly(input, signature) || !signature.SequenceEqual(Signature))
            throw new InvalidDataException("not a PNG file (the 8-byte PNG signature is missing).");

        int width = 0, height = 0, colorType = -1;
        byte[]? palette = null;
        var idat = new MemoryStream();
        var text = new List<PngText>();
        var sawIend = false;
        Span<byte> header = stackalloc byte[8];
        Span<byte> crcBytes = stackalloc byte[4];

        while (!sawIend)
        {
            if (!TryReadExactly(input, header))
                throw new InvalidDataException("PNG ends before its IEND chunk (the file is truncated).");
            var length = BinaryPrimitives.ReadUInt32BigEndian(header);
            var type = Encoding.ASCII.GetString(header[4..]);
            if (length > int.MaxValue)
                throw new InvalidDataException($"PNG chunk {type} declares an impossible length {length}.");
            // Skip image data we will not decode without holding it in memory.
            var keep = decodePixels || type != "IDAT";
            var data = keep ? new byte[length] : [];
            var crc = Crc32.Append(Crc32.Start, header[4..]);
            if (keep)
            {
                if (!TryReadExactly(input, data))
                    throw new InvalidDataException($"PNG chunk {type} is cut short (the file is truncated).");
                crc = Crc32.Append(crc, data);
            }
            else
            {
                crc = SkipAndHash(input, (int)length, crc, type);
            }
            if (!TryReadExactly(input, crcBytes))
                throw new InvalidDataException($"PNG chunk {type} has no CRC (the file is truncated).");
            if (BinaryPrimitives.ReadUInt32BigEndian(crcBytes) != Crc32.Finish(crc))
                throw new InvalidDataException($"PNG chunk {type} fails its CRC check (the file is damaged).");

            switch (type)
            {
                case "IHDR":
                    (width, height, colorType) = ParseHeader(data);
                    break;
                case "PLTE":
                    palette = data;
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "tEXt":
                    text.Add(ParseTExt(data));
                    break;
                case "zTXt":
                    text.Add(ParseZTxt(data));
                    break;
                case "iTXt":
                    text.Add(ParseITxt(data));
                    break;
                case "IEND":
                    sawIend = true;
                    break;
                default:
                    // An unknown critical chunk (upper-case first letter) changes how pixels decode.
                    if (char.IsUpper(type[0]) && decodePixels)
                        throw new InvalidDataException($"PNG uses critical chunk {type}, which this reader does not support.");
                    break;
            }
            if (colorType < 0 && type != "IHDR")
                throw new InvalidDataException("PNG does not start with an IHDR chunk.");
        }

        if (!decodePixels)
            return (null, text);
        if (colorType == 3 && palette is null)
            throw new InvalidDataException("palette PNG has no PLTE chunk.");
        var pixels = DecodePixels(idat, width, height, colorType, palette);
        return (new RgbImage(width, height, pixels), text);
    }

    private static (int Width, int Height, int ColorType) ParseHeader(byte[] d)
    {
        if (d.Length != 13)
            throw new InvalidDataException($"PNG IHDR must be 13 bytes (got {d.Length}).");
        var width = BinaryPrimitives.ReadInt32BigEndian(d);
        var height = BinaryPrimitives.ReadInt32BigEndian(d.AsSpan(4));
        int depth = d[8], colorType = d[9], compression = d[10], filter = d[11], interlace = d[12];
        if (width is < 1 or > MaxSide || height is < 1 or > MaxSide)
            throw new InvalidDataException($"PNG size {width}x{height} is outside 1..{MaxSide} per side.");
        if (colorType is not (0 or 2 or 3 or 4 or 6))
            throw new InvalidDataException($"PNG colour type {colorType} is not valid.");
        if (depth != 8)
            throw new InvalidDataException($"PNG bit depth {depth} is not supported (only 8 bits per channel).");
        if (compression != 0 || filter != 0)
            throw new InvalidDataException($"PNG compression method {compression} / filter method {filter} is not valid (both must be 0).");
        if (interlace != 0)
            throw new InvalidDataException("interlaced (Adam7) PNGs are not supported.");
        return (width, height, colorType);
    }

    private static byte[] DecodePixels(MemoryStream idat, int width, int height, int colorType, byte[]? palette)
    {
        var bpp = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        var stride = width * bpp;
        var raw = new byte[(long)(stride + 1) * height];
        idat.Position = 0;
        bool complete;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            complete = TryReadExactly(z, raw);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"PNG image data is not valid zlib: {e.Message}", e);
        }
        if (!complete)
            throw new InvalidDataException($"PNG image data holds fewer than the {raw.Length} bytes a {width}x{height} image needs (the file is truncated).");

        var current = new byte[stride];
        var previous = new byte[stride];
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            var line = raw.AsSpan(y * (stride + 1), stride + 1);
            var filter = line[0];
            var src = line[1..];
            for (var i = 0; i < stride; i++)
            {
                int a = i >= bpp ? current[i - bpp] : 0, b = previous[i], c = i >= bpp ? previous[i - bpp] : 0;
                var predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) >> 1,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG row {y} uses filter type {filter}; valid types are 0-4."),
                };
                current[i] = (byte)(src[i] + predicted);
            }
            ToRgb(current, rgb.AsSpan(y * width * 3, width * 3), colorType, palette, y);
            (previous, current) = (current, previous);
        }
        return rgb;
    }

    private static void ToRgb(ReadOnlySpan<byte> row, Span<byte> rgb, int colorType, byte[]? palette, int y)
    {
        var width = rgb.Length / 3;
        for (var x = 0; x < width; x++)
        {
            var o = x * 3;
            switch (colorType)
            {
                case 0:
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = row[x];
                    break;
                case 4:
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = row[x * 2];
                    break;
                case 2:
                    row.Slice(x * 3, 3).CopyTo(rgb[o..]);
                    break;
                case 6:
                    row.Slice(x * 4, 3).CopyTo(rgb[o..]);
                    break;
                default:
                    var index = row[x] * 3;
                    if (index + 3 > palette!.Length)
                        throw new InvalidDataException($"PNG pixel ({x}, {y}) uses palette entry {row[x]} but the palette has {palette.Length / 3} entries.");
                    palette.AsSpan(index, 3).CopyTo(rgb[o..]);
                    break;
            }
        }
    }

    private static PngText ParseTExt(byte[] d)
    {
        var nul = KeywordEnd(d, "tEXt");
        return new PngText(Latin1.GetString(d, 0, nul), Latin1.GetString(d, nul + 1, d.Length - nul - 1));
    }

    private static PngText ParseZTxt(byte[] d)
    {
        var nul = KeywordEnd(d, "zTXt");
        if (nul + 1 >= d.Length || d[nul + 1] != 0)
            throw new InvalidDataException("PNG zTXt chunk has no valid compression method.");
        return new PngText(Latin1.GetString(d, 0, nul), Latin1.GetString(Inflate(d.AsSpan(nul + 2), "zTXt")));
    }

    private static PngText ParseITxt(byte[] d)
    {
        var nul = KeywordEnd(d, "iTXt");
        var p = nul + 1;
        if (p + 2 > d.Length)
            throw new InvalidDataException("PNG iTXt chunk is cut short.");
        var compressed = d[p] == 1;
        p += 2;
        var languageEnd = Array.IndexOf(d, (byte)0, p);
        var translatedEnd = languageEnd < 0 ? -1 : Array.IndexOf(d, (byte)0, languageEnd + 1);
        if (translatedEnd < 0)
            throw new InvalidDataException("PNG iTXt chunk lacks its language tag or translated keyword.");
        var body = d.AsSpan(translatedEnd + 1);
        var bytes = compressed ? Inflate(body, "iTXt") : body.ToArray();
        return new PngText(Latin1.GetString(d, 0, nul), Encoding.UTF8.GetString(bytes));
    }

    private static int KeywordEnd(byte[] d, string type)
    {
        var nul = Array.IndexOf(d, (byte)0);
        if (nul is < 1 or > 79)
            throw new InvalidDataException($"PNG {type} chunk has no valid keyword.");
        return nul;
    }

    private static byte[] Inflate(ReadOnlySpan<byte> data, string type)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(data.ToArray()), CompressionMode.Decompress);
            var output = new MemoryStream();
            z.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"PNG {type} chunk holds invalid zlib data: {e.Message}", e);
        }
    }

    private static uint SkipAndHash(Stream input, int length, uint crc, string type)
    {
        var buffer = new byte[Math.Min(length, 1 << 16)];
        while (length > 0)
        {
            var n = input.Read(buffer, 0, Math.Min(buffer.Length, length));
            if (n <= 0)
                throw new InvalidDataException($"PNG chunk {type} is cut short (the file is truncated).");
            crc = Crc32.Append(crc, buffer.AsSpan(0, n));
            length -= n;
        }
        return crc;
    }

    private static bool TryReadExactly(Stream s, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = s.Read(buffer[total..]);
            if (n <= 0)
                return false;
            total += n;
        }
        return true;
    }
}
