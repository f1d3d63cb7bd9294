using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// A pipeline that makes seeded noise pictures and reports every step with a small preview. A test can hold runs
/// after their first step (<see cref="Hold"/>) to look at progress, then <see cref="Release"/> them.
/// </summary>
public sealed class FakePipeline : IImagePipeline
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _release = Released();

    public TimeSpan StepTime { get; set; } = TimeSpan.FromMilliseconds(5);

    public void Hold()
    {
        lock (_gate)
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release()
    {
        lock (_gate)
            _release.TrySetResult();
    }

    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        Task gate;
        lock (_gate)
            gate = _release.Task;
        var images = new List<GeneratedImage>();
        for (var i = 0; i < request.Count; i++)
        {
            for (var s = 1; s <= request.Steps; s++)
            {
                ct.ThrowIfCancellationRequested();
                await Task.Delay(StepTime, ct);
                progress?.Report(new GenerationProgress(i, request.Count, s, request.Steps, StepTime * s,
                    Noise(request.Width / 16, request.Height / 16, request.Seed + i + s)));
                if (i == 0 && s == 1)
                    await gate.WaitAsync(ct);
            }
            // Full size, as a real pipeline returns: the store records the picture's own size.
            images.Add(new GeneratedImage(Noise(request.Width, request.Height, request.Seed + i), request.Seed + i));
        }
        var steps = Enumerable.Repeat(StepTime * request.Count, request.Steps).ToArray();
        return new GenerationResult(images, false,
            new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, steps, TimeSpan.Zero, StepTime * request.Count * request.Steps));
    }

    /// <summary>Smooth coloured noise, so screenshots look like pictures rather than static.</summary>
    public static RgbImage Noise(int width, int height, long seed)
    {
        var random = new Random((int)(seed % int.MaxValue));
        var (r0, g0, b0) = (random.Next(40, 200), random.Next(40, 200), random.Next(40, 200));
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = (y * width + x) * 3;
                var wave = Math.Sin(x * 0.08 * 64 / width + seed) * 40 + Math.Cos(y * 0.06 * 64 / height - seed) * 40;
                pixels[o] = (byte)Math.Clamp(r0 + wave + random.Next(-12, 12), 0, 255);
                pixels[o + 1] = (byte)Math.Clamp(g0 - wave * 0.5 + random.Next(-12, 12), 0, 255);
                pixels[o + 2] = (byte)Math.Clamp(b0 + wave * 0.7 + random.Next(-12, 12), 0, 255);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private static TaskCompletionSource Released()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}
