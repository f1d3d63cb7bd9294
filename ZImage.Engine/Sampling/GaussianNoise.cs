namespace ZImage.Engine.Sampling;

/// <summary>
/// The initial latent noise, N(0, 1) float32, fully determined by the seed. This is our own generator
/// (SplitMix64-seeded xoshiro256** and the Box–Muller transform), not torch's: the same seed gives different
/// noise than torch.randn, so parity tests feed the reference's stored noise instead of a seed. We do not use
/// System.Random because its algorithm is not promised to stay the same between .NET versions, and a user's
/// seed must keep giving the same image. Box–Muller uses Math.Log/Sqrt/SinCos, so a different C runtime could
/// in principle move a sample by one float32 ulp; on one machine the stream is exact.
/// </summary>
public static class GaussianNoise
{
    /// <summary>A latent <c>[channels, height, width]</c> (row-major, as torch fills <c>randn(1, C, H, W)</c>).</summary>
    public static float[] Create(long seed, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        var noise = new float[checked(channels * height * width)];
        Fill(seed, noise);
        return noise;
    }

    public static void Fill(long seed, Span<float> destination)
    {
        var state = new Xoshiro256StarStar((ulong)seed);
        var i = 0;
        while (i < destination.Length)
        {
            // 53-bit uniforms; u1 in (0, 1] keeps the logarithm finite.
            var u1 = ((state.Next() >> 11) + 1) * (1.0 / (1UL << 53));
            var u2 = (state.Next() >> 11) * (1.0 / (1UL << 53));
            var radius = Math.Sqrt(-2.0 * Math.Log(u1));
            var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
            destination[i++] = (float)(radius * cos);
            if (i < destination.Length)
                destination[i++] = (float)(radius * sin);
        }
    }

    private struct Xoshiro256StarStar
    {
        private ulong _s0, _s1, _s2, _s3;

        public Xoshiro256StarStar(ulong seed)
        {
            // SplitMix64 spreads any seed, 0 included, over a state that is never all zero.
            _s0 = SplitMix64(ref seed);
            _s1 = SplitMix64(ref seed);
            _s2 = SplitMix64(ref seed);
            _s3 = SplitMix64(ref seed);
        }

        public ulong Next()
        {
            var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = ulong.RotateLeft(_s3, 45);
            return result;
        }

        private static ulong SplitMix64(ref ulong x)
        {
            x += 0x9E3779B97F4A7C15UL;
            var z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
