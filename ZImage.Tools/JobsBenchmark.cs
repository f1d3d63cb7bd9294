using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// Queue overhead with any pipeline (a fake, the tiny model, the real one): the time the worker
/// spends outside <see cref="IImagePipeline.RunAsync"/> per job, split into bookkeeping (queue,
/// store, events) and saving pictures, and the jobs per second end to end. Not a test: it prints numbers.
/// </summary>
public static class JobsBenchmark
{
    public sealed record Settings(int Jobs = 100, int Users = 4, int Width = 256, int Height = 256, int Steps = 8, string? WorkDirectory = null)
    {
        /// <summary>ZImage:Store settings (empty: SQLite in the work folder).</summary>
        public IReadOnlyDictionary<string, string?> Store { get; init; } = new Dictionary<string, string?>();
    }

    public sealed record Report(int Jobs, TimeSpan Wall, double JobsPerSecond, TimeSpan PipelinePerJob, TimeSpan OverheadPerJob, TimeSpan SavingPerJob)
    {
        public double OverheadShare => OverheadPerJob / (PipelinePerJob + OverheadPerJob + SavingPerJob);
    }

    public static async Task<Report> RunAsync(IImagePipeline pipeline, Settings settings, TextWriter output, CancellationToken ct = default)
    {
        string root = settings.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "zimage-jobs-bench", Guid.NewGuid().ToString("N"));
        var services = await JobsRoom.StartAsync(pipeline, new Dictionary<string, string?>(settings.Store)
        {
            ["ZImage:Jobs:DataDirectory"] = Path.Combine(root, "data"),
            ["ZImage:Jobs:OutputDirectory"] = Path.Combine(root, "outputs"),
            ["ZImage:Jobs:MaxQueuedPerUser"] = "1000",
            ["ZImage:Jobs:MaxQueuedTotal"] = "100000",
        });
        try
        {
            var jobs = services.GetRequiredService<JobService>();
            var worker = services.GetRequiredService<JobWorker>();
            var notifier = services.GetRequiredService<IJobNotifier>();
            int finished = 0;
            var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var subscription = notifier.SubscribeAll(e =>
            {
                if (e is JobSucceeded or JobFailed && Interlocked.Increment(ref finished) == settings.Jobs)
                    allDone.TrySetResult();
            });

            var wall = Stopwatch.StartNew();
            for (int i = 0; i < settings.Jobs; i++)
            {
                var result = await jobs.SubmitAsync(new JobRequest
                {
                    Settings = new() { Prompt = $"benchmark job {i}", Width = settings.Width, Height = settings.Height, Steps = settings.Steps },
                }, new Caller($"user{i % settings.Users}"), ct);
                if (!result.Accepted)
                    throw new InvalidOperationException(result.Message);
            }
            await worker.StartAsync(ct);
            await allDone.Task.WaitAsync(ct);
            wall.Stop();
            await worker.StopAsync(CancellationToken.None);

            var (count, overhead, inPipeline, saving) = worker.Measurements;
            var report = new Report((int)count, wall.Elapsed, count / wall.Elapsed.TotalSeconds,
                inPipeline / count, overhead / count, saving / count);
            output.WriteLine($"jobs benchmark: {report.Jobs} jobs of {settings.Width}x{settings.Height}, {settings.Steps} steps, {settings.Users} users, 1 worker");
            output.WriteLine($"  wall {report.Wall.TotalSeconds:0.000} s, {report.JobsPerSecond:0.00} jobs/s");
            output.WriteLine($"  per job: pipeline {report.PipelinePerJob.TotalMilliseconds:0.000} ms, " +
                $"worker outside the pipeline {report.OverheadPerJob.TotalMilliseconds:0.000} ms ({report.OverheadShare:P2} of the job), " +
                $"saving pictures {report.SavingPerJob.TotalMilliseconds:0.000} ms");
            var handOff = report.Wall / report.Jobs - report.PipelinePerJob;
            output.WriteLine($"  end to end, wall per job minus pipeline (bookkeeping + saving + hand-off between jobs): {handOff.TotalMilliseconds:0.000} ms");
            output.WriteLine($"  targets: outside the pipeline < 5 ms: {(report.OverheadPerJob.TotalMilliseconds < 5 ? "met" : "MISSED")}, " +
                $"< 2% of a job: {(report.OverheadShare < 0.02 ? "met" : "MISSED")}");
            return report;
        }
        finally
        {
            await services.DisposeAsync();
            if (settings.WorkDirectory is null && Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }
}
