using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ZImage.Engine.Imaging;

/// <summary>
/// The zlib stream of a PNG's IDAT chunks for 8-bit RGB: rows filtered by the minimum-sum-of-absolute-differences
/// heuristic (libpng's default for RGB), then deflated. Speed matters because every finished image passes through
/// here on the server: the filters run on 16-byte vectors, and horizontal bands of rows are filtered and deflated
/// in parallel, joined pigz-style (each band but the last ends with a sync flush, so the bands concatenate into
/// one valid deflate stream; the Adler-32 of the whole is combined from the bands').
/// </summary>
internal static class PngImageData
{
    // zlib level 2 (zlib-ng's fast matcher; level 1 is its "quick" one, 60 % larger files on smooth images):
    // within about 1 % of level 6's size on generated images at a fraction of its time (docs/performance.md).
    public const int DefaultLevel = 2;

    // A band's filtered bytes. Past about 128 KiB a fresh 32 KiB deflate window per band costs nothing measurable.
    internal const int BandBytes = 128 * 1024;

    private const int Bpp = 3;

    public static byte[] Compress(RgbImage image, int level = DefaultLevel, bool parallel = true)
    {
        var rowBytes = image.Width * Bpp + 1;
        var rowsPerBand = Math.Max(1, BandBytes / rowBytes);
        var bandCount = (image.Height + rowsPerBand - 1) / rowsPerBand;
        var bands = new (byte[] Deflated, int Length, uint Adler, long RawLength)[bandCount];

        void CompressBand(int band)
        {
            var first = band * rowsPerBand;
            var rows = Math.Min(rowsPerBand, image.Height - first);
            var filtered = new byte[rows * rowBytes];
            FilterRows(image, first, rows, filtered);
            var output = new MemoryStream(filtered.Length / 2 + 64);
            var deflate = new DeflateStream(output, new ZLibCompressionOptions
            {
                CompressionLevel = level,
                CompressionStrategy = ZLibCompressionStrategy.Filtered,
            }, leaveOpen: true);
            deflate.Write(filtered);
            var last = band == bandCount - 1;
            if (last)
                deflate.Dispose();
            else
                deflate.Flush(); // Z_SYNC_FLUSH: byte-aligned, no final-block bit
            bands[band] = (output.GetBuffer(), (int)output.Length, Adler32(filtered), filtered.Length);
            if (!last)
                deflate.Dispose(); // its closing final block lies past the length taken above
        }

        if (parallel && bandCount > 1)
            Parallel.For(0, bandCount, CompressBand);
        else
            for (var b = 0; b < bandCount; b++)
                CompressBand(b);

        var total = 2 + 4 + bands.Sum(b => (long)b.Length);
        var result = new byte[total];
        // CMF: deflate, 32 KiB window. FLG: zlib's level hint, then FCHECK so that (CMF * 256 + FLG) % 31 == 0.
        result[0] = 0x78;
        var flevel = level switch { < 2 => 0, < 6 => 1, 6 => 2, _ => 3 };
        result[1] = (byte)((flevel << 6) + 31 - (0x7800 + (flevel << 6)) % 31);
        var offset = 2;
        var adler = 1u;
        foreach (var b in bands)
        {
            b.Deflated.AsSpan(0, b.Length).CopyTo(result.AsSpan(offset));
            offset += b.Length;
            adler = CombineAdler32(adler, b.Adler, b.RawLength);
        }
        result[offset] = (byte)(adler >> 24);
        result[offset + 1] = (byte)(adler >> 16);
        result[offset + 2] = (byte)(adler >> 8);
        result[offset + 3] = (byte)adler;
        return result;
    }

    /// <summary>Rows <paramref name="first"/>.. of the image, each as filter byte + filtered bytes, into <paramref name="output"/>.</summary>
    private static void FilterRows(RgbImage image, int first, int rows, byte[] output)
    {
        var stride = image.Width * Bpp;
        // Padded copies: Bpp zero bytes before the row make "the pixel to the left" a plain offset load, and the
        // tail rounds up to whole vectors (those bytes are computed but never scored or written).
        var padded = Bpp + stride + Vector128<byte>.Count;
        Span<byte> current = new byte[padded];
        Span<byte> previous = new byte[padded];
        var candidates = new byte[4][];
        for (var f = 0; f < 4; f++)
            candidates[f] = new byte[stride + Vector128<byte>.Count];
        var pixels = image.Pixels.AsSpan();
        if (first > 0)
            pixels.Slice((first - 1) * stride, stride).CopyTo(previous[Bpp..]);

        for (var r = 0; r < rows; r++)
        {
            var y = first + r;
            pixels.Slice(y * stride, stride).CopyTo(current[Bpp..]);
            var scores = Filter(current, previous, stride, candidates);
            var best = 0; // None scores the raw bytes
            var bestScore = SumAbs(current.Slice(Bpp, stride));
            for (var f = 0; f < 4; f++)
            {
                if (scores[f] < bestScore)
                {
                    bestScore = scores[f];
                    best = f + 1;
                }
            }
            var line = output.AsSpan(r * (stride + 1), stride + 1);
            line[0] = (byte)best;
            if (best == 0)
                current.Slice(Bpp, stride).CopyTo(line[1..]);
            else
                candidates[best - 1].AsSpan(0, stride).CopyTo(line[1..]);
            var swap = previous;
            previous = current;
            current = swap;
        }
    }

    /// <summary>Sub, Up, Average and Paeth of one row into <paramref name="candidates"/>; returns their scores.</summary>
    private static long[] Filter(ReadOnlySpan<byte> row, ReadOnlySpan<byte> above, int stride, byte[][] candidates)
    {
        // x = this byte, a = left, b = above, c = above-left; the padded spans start Bpp bytes early.
        ref var rowRef = ref MemoryMarshal.GetReference(row);
        ref var aboveRef = ref MemoryMarshal.GetReference(above);
        var sub = candidates[0];
        var up = candidates[1];
        var avg = candidates[2];
        var paeth = candidates[3];
        for (var i = 0; i < stride; i += Vector128<byte>.Count)
        {
            var x = Vector128.LoadUnsafe(ref rowRef, (nuint)(i + Bpp));
            var a = Vector128.LoadUnsafe(ref rowRef, (nuint)i);
            var b = Vector128.LoadUnsafe(ref aboveRef, (nuint)(i + Bpp));
            var c = Vector128.LoadUnsafe(ref aboveRef, (nuint)i);
            (x - a).StoreUnsafe(ref sub[0], (nuint)i);
            (x - b).StoreUnsafe(ref up[0], (nuint)i);
            // floor((a + b) / 2) without leaving bytes
            (x - ((a & b) + Vector128.ShiftRightLogical(a ^ b, 1))).StoreUnsafe(ref avg[0], (nuint)i);
            var (pLow, pHigh) = (PaethPredict(Vector128.WidenLower(a), Vector128.WidenLower(b), Vector128.WidenLower(c)),
                PaethPredict(Vector128.WidenUpper(a), Vector128.WidenUpper(b), Vector128.WidenUpper(c)));
            (x - Vector128.Narrow(pLow, pHigh)).StoreUnsafe(ref paeth[0], (nuint)i);
        }
        return
        [
            SumAbs(sub.AsSpan(0, stride)),
            SumAbs(up.AsSpan(0, stride)),
            SumAbs(avg.AsSpan(0, stride)),
            SumAbs(paeth.AsSpan(0, stride)),
        ];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> PaethPredict(Vector128<ushort> a, Vector128<ushort> b, Vector128<ushort> c)
    {
        var sa = a.AsInt16();
        var sb = b.AsInt16();
        var sc = c.AsInt16();
        var pa = Vector128.Abs(sb - sc);          // |p - a| with p = a + b - c
        var pb = Vector128.Abs(sa - sc);          // |p - b|
        var pc = Vector128.Abs(sa + sb - sc - sc); // |p - c|
        var takeA = Vector128.LessThanOrEqual(pa, pb) & Vector128.LessThanOrEqual(pa, pc);
        var takeB = Vector128.LessThanOrEqual(pb, pc);
        return Vector128.ConditionalSelect(takeA, sa, Vector128.ConditionalSelect(takeB, sb, sc)).AsUInt16();
    }

    /// <summary>Sum of |v| with each byte read as signed: the filter heuristic's score.</summary>
    private static long SumAbs(ReadOnlySpan<byte> values)
    {
        long total = 0;
        var i = 0;
        ref var start = ref MemoryMarshal.GetReference(values);
        // 16-bit lanes take at most 64 vectors of 2 x 128 before they could overflow.
        while (i + Vector128<byte>.Count <= values.Length)
        {
            var sums = Vector128<ushort>.Zero;
            for (var k = 0; k < 64 && i + Vector128<byte>.Count <= values.Length; k++, i += Vector128<byte>.Count)
            {
                var abs = Vector128.Abs(Vector128.LoadUnsafe(ref start, (nuint)i).AsSByte()).AsByte(); // -128 -> 128
                sums += Vector128.WidenLower(abs) + Vector128.WidenUpper(abs);
            }
            total += Vector128.Sum(Vector128.WidenLower(sums) + Vector128.WidenUpper(sums));
        }
        for (; i < values.Length; i++)
        {
            var v = values[i];
            total += v < 128 ? v : 256 - v;
        }
        return total;
    }

    internal static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint mod = 65521;
        uint s1 = 1, s2 = 0;
        // 5552 bytes is the most that can be summed before s2 could overflow 32 bits.
        while (data.Length > 0)
        {
            var n = Math.Min(5552, data.Length);
            foreach (var v in data[..n])
            {
                s1 += v;
                s2 += s1;
            }
            s1 %= mod;
            s2 %= mod;
            data = data[n..];
        }
        return (s2 << 16) | s1;
    }

    /// <summary>Adler-32 of A followed by B, from adler(A), adler(B) and B's length (zlib's adler32_combine).</summary>
    internal static uint CombineAdler32(uint adlerA, uint adlerB, long lengthB)
    {
        const uint mod = 65521;
        var rem = (uint)(lengthB % mod);
        var sum1 = adlerA & 0xFFFF;
        var sum2 = (uint)((ulong)rem * sum1 % mod);
        sum1 += (adlerB & 0xFFFF) + mod - 1;
        sum2 += (adlerA >> 16) + (adlerB >> 16) + mod - rem;
        if (sum1 >= mod) sum1 -= mod;
        if (sum1 >= mod) sum1 -= mod;
        if (sum2 >= mod << 1) sum2 -= mod << 1;
        if (sum2 >= mod) sum2 -= mod;
        return (sum2 << 16) | sum1;
    }
}
