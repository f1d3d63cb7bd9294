using System.Diagnostics;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

// Queue overhead with a stand-in pipeline that takes a fixed time per job (default 50 ms).
// Usage: dotnet run -c Release --project tools/ZImage.JobsBench [jobs] [milliseconds per job]
int jobs = args.Length > 0 ? int.Parse(args[0]) : 100;
int jobMs = args.Length > 1 ? int.Parse(args[1]) : 50;
await JobsBenchmark.RunAsync(new FixedTimePipeline(TimeSpan.FromMilliseconds(jobMs)), new JobsBenchmark.Settings(Jobs: jobs), Console.Out);

/// <summary>Spends its time in steps like a model would, reports each step, returns a grey picture.</summary>
internal sealed class FixedTimePipeline(TimeSpan perJob) : IImagePipeline
{
    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var perStep = perJob / request.Steps;
        var steps = new TimeSpan[request.Steps];
        for (int s = 0; s < request.Steps; s++)
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
        var total = Stopwatch.GetElapsedTime(start);
        return new GenerationResult([new GeneratedImage(image, request.Seed)], false,
            new GenerationTimings(TimeSpan.Zero, TimeSpan.Zero, steps, TimeSpan.Zero, total));
    }
}
