using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Run-time estimates from what this box measured: seconds per denoising step and the fixed
/// rest of an image (encoder, VAE, saving), per size and guidance. A size never run is scaled
/// from the nearest measured size by pixel count; before any measurement the configured guess is used.
/// Measurements are smoothed (exponential average) so one slow run does not swing every ETA.
/// </summary>
public sealed class EtaEstimator(double initialSecondsPerStepAt1024)
{
    // Weight of a new measurement; the first few samples are averaged plainly so early ETAs settle fast.
    private const double Smoothing = 0.3;
    private readonly object _gate = new();
    private readonly Dictionary<(int W, int H, bool Guided), StepTiming> _timings = new();

    public void Load(IEnumerable<StepTiming> timings)
    {
        lock (_gate)
        {
            foreach (var t in timings)
                _timings[(t.Width, t.Height, t.Guided)] = t;
        }
    }

    /// <summary>Folds a finished run into the measurements and returns the updated entry (to persist).</summary>
    public StepTiming? Record(GenerationRequest request, GenerationTimings timings, int imagesRun)
    {
        if (imagesRun <= 0 || request.Steps <= 0 || timings.Steps.Count == 0)
            return null;
        double stepSeconds = timings.Steps.Sum(s => s.TotalSeconds);
        double perStep = stepSeconds / (timings.Steps.Count * (double)imagesRun);
        double fixedPerImage = Math.Max(0, (timings.Total.TotalSeconds - stepSeconds) / imagesRun);
        var key = (request.Width, request.Height, request.IsGuided);
        lock (_gate)
        {
            StepTiming updated;
            if (_timings.TryGetValue(key, out var old))
            {
                double w = Math.Max(Smoothing, 1.0 / (old.Samples + 1));
                updated = old with
                {
                    Samples = old.Samples + 1,
                    SecondsPerStep = old.SecondsPerStep + w * (perStep - old.SecondsPerStep),
                    FixedSecondsPerImage = old.FixedSecondsPerImage + w * (fixedPerImage - old.FixedSecondsPerImage),
                };
            }
            else
            {
                updated = new StepTiming(request.Width, request.Height, request.IsGuided, 1, perStep, fixedPerImage);
            }
            _timings[key] = updated;
            return updated;
        }
    }

    /// <summary>Seconds per step and fixed seconds per image for this size.</summary>
    public (double SecondsPerStep, double FixedSecondsPerImage, bool Measured) CostOf(GenerationRequest request)
    {
        bool guided = request.IsGuided;
        double pixels = (double)request.Width * request.Height;
        lock (_gate)
        {
            if (_timings.TryGetValue((request.Width, request.Height, guided), out var exact))
                return (exact.SecondsPerStep, exact.FixedSecondsPerImage, true);

            StepTiming? nearest = null;
            double best = double.MaxValue;
            foreach (var t in _timings.Values)
            {
                // Distance in log pixel count, and a guidance mismatch counts as a doubling.
                double d = Math.Abs(Math.Log(pixels / ((double)t.Width * t.Height))) + (t.Guided == guided ? 0 : Math.Log(2));
                if (d < best)
                {
                    best = d;
                    nearest = t;
                }
            }
            if (nearest is not null)
            {
                double scale = pixels / ((double)nearest.Width * nearest.Height);
                double guidance = guided == nearest.Guided ? 1 : guided ? 2 : 0.5;
                return (nearest.SecondsPerStep * scale * guidance, nearest.FixedSecondsPerImage * scale, true);
            }
        }
        double guess = initialSecondsPerStepAt1024 * pixels / (1024.0 * 1024) * (guided ? 2 : 1);
        return (guess, guess, false);
    }

    public TimeSpan EstimateRun(GenerationRequest request)
    {
        var (perStep, fixedPerImage, _) = CostOf(request);
        return TimeSpan.FromSeconds(request.Count * (request.Steps * perStep + fixedPerImage));
    }

    /// <summary>Time left for a running job that has finished <paramref name="stepsDone"/> steps of image <paramref name="imageIndex"/>.</summary>
    public TimeSpan EstimateRemaining(GenerationRequest request, int imageIndex, int stepsDone)
    {
        var (perStep, fixedPerImage, _) = CostOf(request);
        int imagesLeftAfterThis = Math.Max(0, request.Count - imageIndex - 1);
        int stepsLeftHere = Math.Max(0, request.Steps - stepsDone);
        double seconds = stepsLeftHere * perStep + fixedPerImage + imagesLeftAfterThis * (request.Steps * perStep + fixedPerImage);
        return TimeSpan.FromSeconds(seconds);
    }
}
