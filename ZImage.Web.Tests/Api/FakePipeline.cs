using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// Stands in for the model: flat-coloured images (colour from the seed), a 16x16 preview each step.
/// While held (<see cref="HoldAsync"/>), every step waits for <see cref="ReleaseSteps"/>, so a test decides when a job
/// moves on instead of racing the clock.
/// </summary>
public sealed class FakePipeline : IImagePipeline
{
    private readonly SemaphoreSlim _steps = new(0);
    private int _running;

    private volatile bool _held;

    public int Running => Volatile.Read(ref _running);

    /// <summary>From now on every step waits for <see cref="ReleaseSteps"/>; first lets earlier tests' jobs drain.</summary>
    public async Task HoldAsync()
    {
        Unhold();
        await ApiTestExtensions.WaitUntilAsync(() => Running == 0, "no job left running from an earlier test");
        while (_steps.Wait(0))
        {
        }
        _held = true;
    }

    public void ReleaseSteps(int count) => _steps.Release(count);

    /// <summary>Lets every waiting and future step through and stops holding.</summary>
    public void Unhold()
    {
        _held = false;
        _steps.Release(1000);
    }

    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        Interlocked.Increment(ref _running);
        try
        {
            var images = new List<GeneratedImage>();
            var steps = new List<TimeSpan>();
            for (var i = 0; i < request.Count; i++)
            {
                var seed = request.Seed + i;
                for (var s = 1; s <= request.Steps; s++)
                {
                    if (_held)
                        await _steps.WaitAsync(ct);
                    ct.ThrowIfCancellationRequested();
                    steps.Add(TimeSpan.FromMilliseconds(1));
                    progress?.Report(new GenerationProgress(i, request.Count, s, request.Steps, TimeSpan.FromMilliseconds(s), Flat(16, 16, seed + s)));
                }
                images.Add(new GeneratedImage(Flat(request.Width, request.Height, seed), seed));
            }
            return new GenerationResult(images, false, new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, steps, TimeSpan.Zero, TimeSpan.FromMilliseconds(steps.Count)));
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public static RgbImage Flat(int width, int height, long seed)
    {
        var pixels = new byte[width * height * 3];
        var (r, g, b) = ((byte)(seed * 37), (byte)(seed * 91), (byte)(seed * 13));
        for (var i = 0; i < pixels.Length; i += 3)
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        return new RgbImage(width, height, pixels);
    }
}
