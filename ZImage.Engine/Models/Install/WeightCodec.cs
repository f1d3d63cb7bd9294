using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case SafetensorsDtype.BF16:
                WidenBf16(MemoryMarshal.Cast<byte, ushort>(source), MemoryMarshal.Cast<float, uint>(destination));
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
                // The largest magnitude decides (vectorized); only a slice holding a NaN or infinity is searched element by element.
                var largest = source.IsEmpty ? 0f : TensorPrimitives.MaxMagnitude(source);
                if (!float.IsFinite(largest) || Math.Abs(largest) > Fp16Max)
                    foreach (var v in source)
                        if (float.IsFinite(v) && Math.Abs(v) > Fp16Max)
                            throw new ConvertException(ConvertFailure.Fp16Overflow,
                                $"Tensor {tensor} has the value {v:R}, which does not fit fp16 (largest ±65504). Install with the bf16 or fp32 weight type instead.")
                            { Tensor = tensor, Value = v };
                // Round to nearest even, the same conversion as (Half)value, vectorized.
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
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

    /// <summary>bf16 bits are the top half of the float32 bits: widen each to 32 bits and shift.</summary>
    private static void WidenBf16(ReadOnlySpan<ushort> source, Span<uint> destination)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Vector256<ushort>.Count <= source.Length; i += Vector256<ushort>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Create<ushort>(source[i..]));
                (lower << 16).CopyTo(destination[i..]);
                (upper << 16).CopyTo(destination[(i + Vector256<uint>.Count)..]);
            }
        for (; i < source.Length; i++)
            destination[i] = (uint)source[i] << 16;
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
