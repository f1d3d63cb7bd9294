using System.Diagnostics;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// <c>jobs-bench [--model DIR] [--jobs 100] [--users 4] [--width 256] [--height 256] [--steps 8] [--fake-ms 50]</c>:
/// the queue's own cost per job (worker time outside the pipeline, saving pictures) and jobs per second, through the
/// real jobs service, store and worker. With --model the pipeline is that model on the CPU (the self-test model:
/// <c>--model models/self-test-tiny</c>); without it, a stand-in that spends --fake-ms per job.
/// </summary>
internal static class JobsBenchCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, EngineCli.CommonFlags);
            var settings = new JobsBenchmark.Settings(
                Jobs: a.Int("jobs", 100), Users: a.Int("users", 4),
                Width: a.Int("width", 256), Height: a.Int("height", 256), Steps: a.Int("steps", 8));
            var fakeMs = a.Int("fake-ms", 50);
            using var loggers = EngineCli.Loggers(a.Flag("verbose"));
            IImagePipeline pipeline;
            ZImagePipeline? model = null;
            if (a.String("model") is not null)
            {
                (model, _) = EngineCli.OpenPipeline(a, loggers);
                pipeline = model;
                // One untimed run opens the sessions, so the figures are per job, not per process start.
                await model.RunAsync(new GenerationRequest { Prompt = "warm-up", Width = settings.Width, Height = settings.Height, Steps = 1 }, null, CancellationToken.None);
                output.WriteLine($"pipeline: {model.Model.Manifest.ModelName} on {model.Provider}");
            }
            else
            {
                pipeline = new StandInPipeline(TimeSpan.FromMilliseconds(fakeMs));
                output.WriteLine($"pipeline: stand-in taking {fakeMs} ms per job");
            }
            a.RejectUnknown();
            using (model)
                await JobsBenchmark.RunAsync(pipeline, settings, output);
            return 0;
        }
        catch (Exception e) when (e is CliException or ModelFolderException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
