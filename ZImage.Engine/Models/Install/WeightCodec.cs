using System.Runtime.InteropServices;
using ZImage.Engine.Models.Install.Checkpoint;

namespace ZImage.Engine.Models.Install;

/// <summary>
/// The element conversions of the installer, bit-exact with what the Python export did through numpy: widening
/// (F16, BF16 → float32) is exact; narrowing to fp16 rounds to nearest even as numpy's astype(float16), to bf16 as
/// torch's float32 → bfloat16 cast (round to nearest even, NaN → 0x7FC0). bf16 → fp16 is the two steps in a row,
/// which is exact in the first and correctly rounded in the second.
/// </summary>
internal static class WeightCodec
{
    /// <summary>The largest finite fp16 value; a weight above it would become infinity.</summary>
    public const float Fp16Max = 65504f;

    public static int ElementSize(WeightDtype dtype) => dtype == WeightDtype.Fp32 ? 4 : 2;

    /// <summary>onnx TensorProto.DataType of a weight dtype.</summary>
    public static int OnnxType(WeightDtype dtype) => dtype switch
    {
        WeightDtype.Fp32 => 1,
        WeightDtype.Fp16 => 10,
        WeightDtype.Bf16 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static string Name(WeightDtype dtype) => dtype switch
    {
        WeightDtype.Fp32 => "fp32",
        WeightDtype.Fp16 => "fp16",
        WeightDtype.Bf16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    public static void Widen(SafetensorsDtype dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case SafetensorsDtype.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case SafetensorsDtype.F16:
                var halves = MemoryMarshal.Cast<byte, ushort>(source);
                for (var i = 0; i < destination.Length; i++)
                    destination[i] = (float)BitConverter.UInt16BitsToHalf(halves[i]);
                break;
            case SafetensorsDtype.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(source);
                for (var i = 0; i < destination.Length; i++)
                    destination[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    /// <summary>
    /// Writes <paramref name="source"/> as <paramref name="dtype"/> into <paramref name="destination"/>
    /// (little-endian). For fp16, a finite value beyond ±65504 is refused with <paramref name="tensor"/> named:
    /// it would silently become infinity.
    /// </summary>
    public static void Narrow(ReadOnlySpan<float> source, WeightDtype dtype, Span<byte> destination, string tensor)
    {
        switch (dtype)
        {
            case WeightDtype.Fp32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case WeightDtype.Fp16:
                var halves = MemoryMarshal.Cast<byte, ushort>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    var v = source[i];
                    if (float.IsFinite(v) && Math.Abs(v) > Fp16Max)
                        throw new CheckpointException(
                            $"Tensor {tensor} has the value {v:R}, which does not fit fp16 (largest ±65504). Install with the bf16 or fp32 weight type instead.");
                    halves[i] = BitConverter.HalfToUInt16Bits((Half)v);
                }
                break;
            case WeightDtype.Bf16:
                var shorts = MemoryMarshal.Cast<byte, ushort>(destination);
                for (var i = 0; i < source.Length; i++)
                    shorts[i] = ToBf16Bits(source[i]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the model format is little-endian");
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even; every NaN becomes the quiet NaN 0x7FC0.</summary>
    public static ushort ToBf16Bits(float value)
    {
        if (float.IsNaN(value))
            return 0x7FC0;
        var u = BitConverter.SingleToUInt32Bits(value);
        var rounding = ((u >> 16) & 1) + 0x7FFFu;
        return (ushort)((u + rounding) >> 16);
    }

    public static float Bf16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>float32 values as little-endian bytes (for small constants).</summary>
    public static byte[] Bytes(ReadOnlySpan<float> values, WeightDtype dtype, string tensor)
    {
        var bytes = new byte[values.Length * ElementSize(dtype)];
        Narrow(values, dtype, bytes, tensor);
        return bytes;
    }
}
