namespace ZImage.Engine.Onnx;

/// <summary>
/// Brain float: the upper 16 bits of an IEEE float32. .NET 10 has no such type; ORT stores bfloat16 tensors
/// in exactly this layout, so arrays of it go to ORT without conversion.
/// </summary>
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds to nearest, ties to even, as PyTorch and ORT's Cast do; NaN stays NaN.</summary>
    public static explicit operator BFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
            return new BFloat16((ushort)((bits >> 16) | 0x0040));
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return new BFloat16((ushort)((bits + roundingBias) >> 16));
    }

    public static explicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
