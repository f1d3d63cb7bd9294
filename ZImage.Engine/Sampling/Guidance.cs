namespace ZImage.Engine.Sampling;

/// <summary>
/// Classifier-free guidance as Z-Image's reference applies it (src/zimage/pipeline.py, diffusers
/// pipeline_z_image.py): <c>pred = pos + g (pos - neg)</c> on the raw transformer outputs, before the pipeline
/// negates them into the velocity.
/// </summary>
public static class Guidance
{
    /// <summary>Whether a run guides at all (two forwards a step); the rule lives with the settings record.</summary>
    public static bool IsOn(float cfg) => GenerationRequest.IsGuidedAt(cfg);

    /// <summary>
    /// The scale g used at a step, 0 meaning "one forward, no negative prompt". The reference turns guidance on
    /// only for <c>cfg &gt; 1</c> (its do_classifier_free_guidance), and then drops it (g = 0) on steps whose
    /// timestep <c>1 - sigma</c> is strictly greater than <paramref name="cfgTruncation"/>; a truncation above 1 never
    /// applies. The timestep is compared widened to double, as the reference compares a float32 .item() with a Python float.
    /// </summary>
    public static float ScaleAt(float cfg, double cfgTruncation, float timestep)
    {
        if (!IsOn(cfg))
            return 0f;
        if (cfgTruncation <= 1.0 && timestep > cfgTruncation)
            return 0f;
        return cfg;
    }

    /// <summary>
    /// Writes <c>pos + scale (pos - neg)</c> into <paramref name="prediction"/> (float32, the reference's operation
    /// order). With <paramref name="normalization"/> k &gt; 0, a prediction whose L2 norm over the whole latent is
    /// strictly greater than k times the norm of <paramref name="positive"/> (the pre-guidance prediction) is scaled
    /// down to exactly that bound. Norms are accumulated in double; torch sums float32 in its own order, so the
    /// rescale factor may differ from the reference in the last bit.
    /// </summary>
    public static void Combine(ReadOnlySpan<float> positive, ReadOnlySpan<float> negative, float scale, float normalization, Span<float> prediction)
    {
        if (negative.Length != positive.Length || prediction.Length != positive.Length)
            throw new ArgumentException($"positive ({positive.Length}), negative ({negative.Length}) and prediction ({prediction.Length}) must have the same length.");
        if (!float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be finite.");
        if (!(normalization >= 0f && float.IsFinite(normalization)))
            throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "normalization must be 0 (off) or a positive finite bound.");

        for (var i = 0; i < positive.Length; i++)
            prediction[i] = positive[i] + scale * (positive[i] - negative[i]);

        if (normalization > 0f)
        {
            var positiveNorm = (float)Math.Sqrt(SumOfSquares(positive));
            var predictionNorm = (float)Math.Sqrt(SumOfSquares(prediction));
            var maxNorm = positiveNorm * normalization;
            if (predictionNorm > maxNorm)
            {
                var factor = maxNorm / predictionNorm;
                for (var i = 0; i < prediction.Length; i++)
                    prediction[i] *= factor;
            }
        }
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var v in values)
            sum += (double)v * v;
        return sum;
    }
}
