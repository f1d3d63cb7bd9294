using System.Diagnostics;
using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// The benchmarks' and the scale-out tests' model: no GPU, a fixed time per job. Spends its time in steps like a model would,
/// reports each step, returns a grey picture.
/// </summary>
internal sealed class StandInPipeline(TimeSpan perJob) : IImagePipeline
{
    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var perStep = perJob / request.Steps;
        var steps = new TimeSpan[request.Steps];
        for (var s = 0; s < request.Steps; s++)
        {
            var t = Stopwatch.GetTimestamp();
            // Spin the last stretch: timer waits overshoot by a millisecond or more, which would hide the overhead being measured.
            var until = t + (long)(perStep.TotalSeconds * Stopwatch.Frequency);
            if (perStep > TimeSpan.FromMilliseconds(2))
                await Task.Delay(perStep - TimeSpan.FromMilliseconds(2), ct);
            while (Stopwatch.GetTimestamp() < until)
                ct.ThrowIfCancellationRequested();
            steps[s] = Stopwatch.GetElapsedTime(t);
            progress?.Report(new GenerationProgress(0, 1, s + 1, request.Steps, Stopwatch.GetElapsedTime(start), null));
        }
        var image = new RgbImage(request.Width, request.Height, new byte[request.Width * request.Height * 3]);
        return new GenerationResult([new GeneratedImage(image, request.Seed)], false,
            new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, steps, TimeSpan.Zero, Stopwatch.GetElapsedTime(start)));
    }
}
