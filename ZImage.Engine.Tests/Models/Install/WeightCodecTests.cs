using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Checkpoint;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>The element conversions, against references written independently of the code under test.</summary>
public sealed class WeightCodecTests
{
    [Fact]
    public void EveryBf16ValueBecomesTheNearestFp16TiesToEven()
    {
        // All 65,536 bf16 patterns that fit fp16 (|v| <= 65504, finite), widened and narrowed in one batch.
        var bits = Enumerable.Range(0, 1 << 16).Select(b => (ushort)b)
            .Where(b => float.IsFinite(WeightCodec.Bf16ToSingle(b)) && Math.Abs(WeightCodec.Bf16ToSingle(b)) <= 65504f).ToArray();
        var source = new byte[bits.Length * 2];
        Buffer.BlockCopy(bits, 0, source, 0, source.Length);
        var widened = new float[bits.Length];
        WeightCodec.Widen(SafetensorsDtype.BF16, source, widened);
        var narrowed = new byte[bits.Length * 2];

        WeightCodec.Narrow(widened, WeightDtype.Fp16, narrowed, "all bf16 values");

        for (var i = 0; i < bits.Length; i++)
        {
            var actual = BitConverter.ToUInt16(narrowed, 2 * i);
            var expected = NearestFp16TiesToEven(widened[i]);
            Assert.True(expected == actual, $"bf16 0x{bits[i]:X4} ({widened[i]:R}): fp16 0x{actual:X4}, nearest-even is 0x{expected:X4}");
        }
        Assert.Equal(2 * 0x4780, bits.Length); // 0x0000..0x477F (65280) and their negatives: every bf16 value within fp16 range
    }

    [Fact]
    public void Float32ValuesBecomeTheNearestFp16TiesToEven()
    {
        // fp32 sources (and fp32 values scaled by the overflow factor) carry bits bf16 has not: every exponent that
        // fits fp16, random mantissas, ties placed on purpose.
        var random = new Random(20251205);
        var values = new float[200_000];
        for (var i = 0; i < values.Length; i++)
        {
            var exponent = random.Next(100, 143); // 2^-27 .. 2^15
            var mantissa = (uint)random.Next(1 << 23);
            if (i % 4 == 0)
                mantissa = (mantissa & ~0x1FFFu) | 0x1000u; // exactly halfway between two fp16 neighbours (for normal results)
            var v = BitConverter.UInt32BitsToSingle(((uint)exponent << 23) | mantissa) * (i % 2 == 0 ? 1 : -1);
            values[i] = Math.Abs(v) > 65504f ? 65504f : v;
        }
        var output = new byte[values.Length * 2];

        WeightCodec.Narrow(values, WeightDtype.Fp16, output, "random");

        for (var i = 0; i < values.Length; i++)
            Assert.True(NearestFp16TiesToEven(values[i]) == BitConverter.ToUInt16(output, 2 * i), $"{values[i]:R}");
    }

    [Theory]
    [InlineData(0x3F80, 0x3C00)] // 1.0
    [InlineData(0xC040, 0xC200)] // -3.0
    [InlineData(0x477F, 0x7BF8)] // 65280: large, exact
    [InlineData(0x3380, 0x0001)] // 2^-24: the smallest fp16 subnormal
    [InlineData(0x3300, 0x0000)] // 2^-25: a tie between 0 and 2^-24, to the even one (0)
    [InlineData(0x3340, 0x0001)] // 0.75 * 2^-24: nearer 2^-24
    [InlineData(0x33C0, 0x0002)] // 1.5 * 2^-24: a tie between 1 and 2 subnormal steps, to the even one (2)
    [InlineData(0x3420, 0x0002)] // 2.5 * 2^-24: a tie between 2 and 3, to 2
    [InlineData(0xB300, 0x8000)] // -2^-25: to -0
    [InlineData(0x3881, 0x0408)] // 6.1989e-5: just above the smallest normal, rounds within the normals
    public void Bf16ToFp16Examples(int bf16, int fp16)
    {
        var source = BitConverter.GetBytes((ushort)bf16);
        var value = new float[1];
        WeightCodec.Widen(SafetensorsDtype.BF16, source, value);
        var output = new byte[2];

        WeightCodec.Narrow(value, WeightDtype.Fp16, output, "example");

        Assert.Equal($"0x{fp16:X4}", $"0x{BitConverter.ToUInt16(output):X4}");
    }

    [Theory]
    [InlineData(65505f)]
    [InlineData(-70000f)]
    [InlineData(3.0e38f)]
    public void AFiniteWeightBeyondFp16IsRefusedNamingTheTensor(float value)
    {
        float[] values = [0.5f, value, 1f];
        var e = Assert.Throws<ConvertException>(() => WeightCodec.Narrow(values, WeightDtype.Fp16, new byte[6], "layers.3.feed_forward.w2.weight"));
        Assert.Equal(ConvertFailure.Fp16Overflow, e.Failure);
        Assert.Equal("layers.3.feed_forward.w2.weight", e.Tensor);
        Assert.Equal(value, e.Value);
        Assert.Contains("layers.3.feed_forward.w2.weight", e.Message);
        Assert.Contains("does not fit fp16", e.Message);
    }

    [Fact]
    public void TheLargestFp16ValueIsAccepted()
    {
        var output = new byte[4];
        WeightCodec.Narrow([65504f, -65504f], WeightDtype.Fp16, output, "edge");
        Assert.Equal([0x7BFF, 0xFBFF], new[] { BitConverter.ToUInt16(output, 0), BitConverter.ToUInt16(output, 2) }.Select(b => (int)b));
    }

    [Theory]
    [InlineData(0x3F800000u, 0x3F80)] // 1.0
    [InlineData(0x3F808000u, 0x3F80)] // 1 + 2^-8: a tie, to the even 1.0
    [InlineData(0x3F818000u, 0x3F82)] // 1 + 3·2^-8: a tie, to the even 0x3F82
    [InlineData(0x3F808001u, 0x3F81)] // just above the tie: up
    [InlineData(0xBF807FFFu, 0xBF80)] // just below the tie, negative: down in magnitude
    [InlineData(0x7F7FFFFFu, 0x7F80)] // float32 max rounds to infinity, as torch does
    [InlineData(0x7FC00001u, 0x7FC0)] // NaN payloads become the one quiet NaN
    [InlineData(0xFF800001u, 0x7FC0)]
    [InlineData(0x00000001u, 0x0000)] // the smallest subnormal rounds to zero
    public void Fp32ToBf16RoundsToNearestEvenAsTorch(uint f32Bits, int bf16)
    {
        var output = new byte[2];
        WeightCodec.Narrow([BitConverter.UInt32BitsToSingle(f32Bits)], WeightDtype.Bf16, output, "example");
        Assert.Equal($"0x{bf16:X4}", $"0x{BitConverter.ToUInt16(output):X4}");
    }

    [Fact]
    public void F16AndBf16WidenExactly()
    {
        var half = BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)0.333251953125));
        var bf = BitConverter.GetBytes((ushort)0x3EAB); // 0.333984375
        var a = new float[1];
        var b = new float[1];
        WeightCodec.Widen(SafetensorsDtype.F16, half, a);
        WeightCodec.Widen(SafetensorsDtype.BF16, bf, b);
        Assert.Equal(0.333251953125f, a[0]);
        Assert.Equal(0.333984375f, b[0]);
    }

    /// <summary>Reference: fp16 patterns 0..0x7BFF are the non-negative finite values in increasing order; pick the nearest, ties to the even pattern.</summary>
    private static ushort NearestFp16TiesToEven(float value)
    {
        var sign = (ushort)(float.IsNegative(value) ? 0x8000 : 0);
        var v = Math.Abs((double)value);
        int lo = 0, hi = 0x7BFF;
        while (lo < hi) // smallest pattern whose value >= v
        {
            var mid = (lo + hi) / 2;
            if (Fp16Value(mid) >= v) hi = mid; else lo = mid + 1;
        }
        var above = lo;
        if (Fp16Value(above) == v || above == 0)
            return (ushort)(sign | above);
        var below = above - 1;
        double dBelow = v - Fp16Value(below), dAbove = Fp16Value(above) - v;
        var pick = dBelow < dAbove ? below : dAbove < dBelow ? above : (below % 2 == 0 ? below : above);
        return (ushort)(sign | pick);
    }

    private static double Fp16Value(int bits)
    {
        int exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
        return exponent == 0 ? mantissa * Math.Pow(2, -24) : (1 + mantissa / 1024.0) * Math.Pow(2, exponent - 15);
    }
}
