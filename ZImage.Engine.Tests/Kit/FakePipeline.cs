using System.Collections.Concurrent;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;

namespace ZImage.Testing;

/// <summary>
/// The one stand-in for the model, shared by the engine and web tests (the web tests link this file). It reports every
/// step with a small preview, hands each full-size seeded picture over after its last step, and keeps the pipeline's timing contract:
/// <see cref="GenerationTimings.Steps"/> has one entry per step, summed over the images.
/// A test decides when runs move on instead of racing the clock: <see cref="Hold"/> stops every run after its first
/// step until <see cref="Release"/>; <see cref="HoldStepsAsync"/> makes every step wait for <see cref="ReleaseSteps"/>.
/// </summary>
public sealed class FakePipeline : IImagePipeline
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _steps = new(0);
    private TaskCompletionSource _release = Gate(released: true);
    private volatile bool _stepsHeld;
    private int _running;

    /// <summary>Every request, in the order runs started.</summary>
    public ConcurrentQueue<GenerationRequest> Started { get; } = new();

    /// <summary>An error to throw instead of running (null: run).</summary>
    public Func<GenerationRequest, Exception?>? FailWith { get; set; }

    /// <summary>An error to throw before picture i's first step (null: go on), so a run can fail part-way.</summary>
    public Func<GenerationRequest, int, Exception?>? FailBeforePicture { get; set; }

    /// <summary>What each step reports it took (and what the timings say); the ETA table learns from it.</summary>
    public TimeSpan StepTime { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Real time each step waits, so a page can be seen mid-run; zero by default.</summary>
    public TimeSpan StepDelay { get; set; }

    /// <summary>The model name the results carry, as a manifest would give it.</summary>
    public string ModelName { get; set; } = ImageSettings.DefaultModel;

    public int Running => Volatile.Read(ref _running);

    /// <summary>From now on runs wait after their first step until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_gate)
            _release = Gate(released: false);
    }

    public void Release()
    {
        lock (_gate)
            _release.TrySetResult();
    }

    /// <summary>From now on every step waits for <see cref="ReleaseSteps"/>; first lets runs left from earlier tests drain.</summary>
    public async Task HoldStepsAsync()
    {
        Unhold();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Running > 0)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("a run from an earlier test is still going");
            await Task.Delay(10);
        }
        while (_steps.Wait(0))
        {
        }
        _stepsHeld = true;
    }

    public void ReleaseSteps(int count) => _steps.Release(count);

    /// <summary>Lets every waiting and future step through and stops holding steps.</summary>
    public void Unhold()
    {
        _stepsHeld = false;
        _steps.Release(1000);
    }

    public Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        RunAsync(request, progress, finished: null, ct);

    /// <summary>Hands each picture over after its last step, as the real pipeline does when the model stays loaded.</summary>
    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress,
        IProgress<FinishedImage>? finished, CancellationToken ct)
    {
        Interlocked.Increment(ref _running);
        try
        {
            Started.Enqueue(request);
            if (FailWith?.Invoke(request) is { } error)
                throw error;
            Task gate;
            lock (_gate)
                gate = _release.Task;
            var images = new List<GeneratedImage>();
            for (var i = 0; i < request.Count; i++)
            {
                if (FailBeforePicture?.Invoke(request, i) is { } midway)
                    throw midway;
                for (var s = 1; s <= request.Steps; s++)
                {
                    if (_stepsHeld)
                        await _steps.WaitAsync(ct);
                    ct.ThrowIfCancellationRequested();
                    if (StepDelay > TimeSpan.Zero)
                        await Task.Delay(StepDelay, ct);
                    progress?.Report(new GenerationProgress(i, request.Count, s, request.Steps, StepTime * s,
                        new PreviewPicture(Noise(Math.Max(1, request.Width / 16), Math.Max(1, request.Height / 16), request.Seed + i + s))));
                    if (i == 0 && s == 1)
                        await gate.WaitAsync(ct);
                }
                // Full size, as a real pipeline returns: the store records the picture's own size.
                var picture = new GeneratedImage(Noise(request.Width, request.Height, request.Seed + i), request.Seed + i);
                images.Add(picture);
                finished?.Report(new FinishedImage(i, picture, ModelName, FlowMatchEulerSchedule.DefaultShift));
            }
            var steps = Enumerable.Repeat(StepTime * request.Count, request.Steps).ToArray();
            return new GenerationResult(images, false,
                new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, steps, TimeSpan.Zero, StepTime * request.Count * request.Steps + TimeSpan.FromMilliseconds(5 * request.Count)))
            {
                ModelName = ModelName,
            };
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public static RgbImage Pixel(int w, int h, byte value) => new(w, h, Enumerable.Repeat(value, w * h * 3).ToArray());

    /// <summary>Smooth coloured noise, so screenshots look like pictures rather than static; the same seed gives the same picture.</summary>
    public static RgbImage Noise(int width, int height, long seed)
    {
        var random = new Random((int)(seed % int.MaxValue));
        var (r0, g0, b0) = (random.Next(40, 200), random.Next(40, 200), random.Next(40, 200));
        // The seed only shifts the waves, by an angle below 2π: the sine of a random seed (up to 2^53) takes libm's slow
        // argument reduction, and per pixel that made 200 fake 512² pictures cost about ten seconds of CPU, enough to
        // push a 200-job test past its deadline on a loaded machine. One wave runs along x and one along y, so each is
        // worked out once per column and once per row.
        double phase = seed % 6283 / 1000.0;
        var alongX = new double[width];
        for (var x = 0; x < width; x++)
            alongX[x] = Math.Sin(x * 0.08 * 64 / width + phase) * 40;
        var alongY = new double[height];
        for (var y = 0; y < height; y++)
            alongY[y] = Math.Cos(y * 0.06 * 64 / height - phase) * 40;
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = (y * width + x) * 3;
                var wave = alongX[x] + alongY[y];
                pixels[o] = (byte)Math.Clamp(r0 + wave + random.Next(-12, 12), 0, 255);
                pixels[o + 1] = (byte)Math.Clamp(g0 - wave * 0.5 + random.Next(-12, 12), 0, 255);
                pixels[o + 2] = (byte)Math.Clamp(b0 + wave * 0.7 + random.Next(-12, 12), 0, 255);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private static TaskCompletionSource Gate(bool released)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (released)
            gate.SetResult();
        return gate;
    }
}
