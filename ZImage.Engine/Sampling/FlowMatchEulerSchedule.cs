namespace ZImage.Engine.Sampling;

/// <summary>
/// Flow-match Euler sampling for Z-Image: sigmas, the timestep the transformer sees, and the Euler update, all
/// indexed by step number (never by looking a timestep up by value). Numbers follow the reference scheduler
/// (Tongyi-MAI/Z-Image src/zimage/scheduler.py with the pipeline's sigma_min = 0 and no dynamic shifting):
/// sigmas are computed in float64 as numpy does, then stored as float32 like the torch tensor; the timestep and
/// the step are float32 arithmetic in the reference's order, so a golden run can match bit for bit.
/// </summary>
public sealed class FlowMatchEulerSchedule
{
    public const double DefaultShift = 3.0;
    public const int MaxSteps = 1000;

    private readonly float[] _sigmas;

    private FlowMatchEulerSchedule(int steps, double shift, float[] sigmas)
    {
        Steps = steps;
        Shift = shift;
        _sigmas = sigmas;
    }

    /// <summary>Number of transformer evaluations (forwards, or forward pairs with guidance).</summary>
    public int Steps { get; }

    public double Shift { get; }

    /// <summary>Steps + 1 values from 1 down to the appended 0.</summary>
    public ReadOnlySpan<float> Sigmas => _sigmas;

    public static FlowMatchEulerSchedule Create(int steps, double shift = DefaultShift)
    {
        if (steps is < 1 or > MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be between 1 and {MaxSteps}.");
        if (!(shift > 0 && double.IsFinite(shift)))
            throw new ArgumentOutOfRangeException(nameof(shift), shift, "shift must be a finite number greater than 0.");

        var sigmas = new float[steps + 1];
        // numpy.linspace(1000, 0, steps + 1)[:-1] computes start + i * step, then the scheduler divides by 1000
        // and applies the shift; the double operations below are the same ones in the same order.
        var delta = -1000.0 / steps;
        for (var i = 0; i < steps; i++)
        {
            var s = (1000.0 + i * delta) / 1000.0;
            sigmas[i] = (float)(shift * s / (1 + (shift - 1) * s));
        }
        sigmas[steps] = 0f;
        return new FlowMatchEulerSchedule(steps, shift, sigmas);
    }

    public float Sigma(int step) => _sigmas[CheckStep(step)];

    /// <summary>
    /// The transformer's time input for a step, 1 - sigma, computed as the reference does: the scheduler's
    /// timestep <c>sigma * 1000</c> in float32, then <c>(1000 - t) / 1000</c> in float32. 0 at the first step.
    /// </summary>
    public float Timestep(int step)
    {
        var t = _sigmas[CheckStep(step)] * 1000f;
        return (1000f - t) / 1000f;
    }

    /// <summary>Euler step in place: <c>latent += (sigma[step + 1] - sigma[step]) * velocity</c>.</summary>
    /// <remarks>Z-Image's velocity is the negated transformer output; see <see cref="StepWithModelOutput"/>.</remarks>
    public void Step(int step, Span<float> latent, ReadOnlySpan<float> velocity)
    {
        CheckLengths(latent, velocity);
        var dt = StepSize(step);
        for (var i = 0; i < latent.Length; i++)
            latent[i] += dt * velocity[i];
    }

    /// <summary>
    /// Euler step from the transformer's (or guidance's) raw prediction, which Z-Image negates into the velocity.
    /// <c>x + dt * (-o)</c> and <c>x - dt * o</c> are the same float32 result, so no negated copy is made.
    /// </summary>
    public void StepWithModelOutput(int step, Span<float> latent, ReadOnlySpan<float> modelOutput)
    {
        CheckLengths(latent, modelOutput);
        var dt = StepSize(step);
        for (var i = 0; i < latent.Length; i++)
            latent[i] -= dt * modelOutput[i];
    }

    /// <summary>
    /// The denoised estimate at a step, <c>x0 = x - sigma * velocity = x + sigma * modelOutput</c>: on the straight
    /// flow-match path it is where the latent would land if the velocity stayed constant. Used for previews.
    /// </summary>
    public void PredictDenoisedFromModelOutput(int step, ReadOnlySpan<float> latent, ReadOnlySpan<float> modelOutput, Span<float> destination)
    {
        if (modelOutput.Length != latent.Length || destination.Length != latent.Length)
            throw new ArgumentException($"latent ({latent.Length}), model output ({modelOutput.Length}) and destination ({destination.Length}) must have the same length.");
        var sigma = Sigma(step);
        for (var i = 0; i < latent.Length; i++)
            destination[i] = latent[i] + sigma * modelOutput[i];
    }

    /// <summary>sigma[step + 1] - sigma[step], a float32 difference as in the reference (negative).</summary>
    public float StepSize(int step) => _sigmas[CheckStep(step) + 1] - _sigmas[step];

    private int CheckStep(int step)
    {
        if ((uint)step >= (uint)Steps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be between 0 and {Steps - 1} for a {Steps}-step schedule.");
        return step;
    }

    private static void CheckLengths(Span<float> latent, ReadOnlySpan<float> other)
    {
        if (latent.Length != other.Length)
            throw new ArgumentException($"the latent has {latent.Length} values but the prediction has {other.Length}.", nameof(latent));
    }
}
