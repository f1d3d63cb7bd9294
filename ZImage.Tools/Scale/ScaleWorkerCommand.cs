using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;

namespace ZImage.Tools.Scale;

/// <summary>
/// <c>scale-worker --db CONNECTION [--workers 1] [--fake-ms 50] [--pictures DIR] [--lease-seconds 30] [--heartbeat-seconds 5]</c>:
/// a studio process without the web server: the jobs room on the shared PostgreSQL queue with a stand-in GPU that spends
/// --fake-ms per job. What the scale-out tests start twice (and kill) and what scale-bench starts 1, 2 and 4 times.
/// It prints <c>ready</c>, then <c>started ID</c> and <c>succeeded ID</c> per job; on SIGTERM or SIGINT it stops gracefully
/// (a running job goes back to the queue) and prints <c>claims N p50 MS p99 MS</c> and every claim's milliseconds
/// (<c>claim-ms …</c>).
/// </summary>
internal static class ScaleWorkerCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, EngineCli.CommonFlags);
            var settings = new Dictionary<string, string?>
            {
                ["ZImage:Store:Provider"] = nameof(StoreProvider.PostgreSql),
                ["ZImage:Store:ConnectionString"] = a.Required("db"),
                ["ZImage:Store:SharedPictureFolder"] = a.String("pictures") ?? Path.Combine(Path.GetTempPath(), "zimage-scale-pictures"),
                ["ZImage:Store:LeaseSeconds"] = a.String("lease-seconds") ?? "30",
                ["ZImage:Store:HeartbeatSeconds"] = a.String("heartbeat-seconds") ?? "5",
                ["ZImage:Store:ClaimPollMilliseconds"] = a.String("poll-ms") ?? "200",
                ["ZImage:Jobs:Workers"] = a.String("workers") ?? "1",
                ["ZImage:Jobs:DataDirectory"] = Path.Combine(Path.GetTempPath(), "zimage-scale-worker-data"),
            };
            var pipeline = new StandInPipeline(TimeSpan.FromMilliseconds(a.Int("fake-ms", 50)));
            a.RejectUnknown();

            using var loggers = EngineCli.Loggers(a.Flag("verbose"));
            await using var services = await JobsRoom.StartAsync(pipeline, settings, loggers);
            var jobs = services.GetRequiredService<JobService>();
            var worker = services.GetRequiredService<JobWorker>();
            var lines = TextWriter.Synchronized(output);
            // Only this process's runs: the relay below also publishes other processes' events here.
            var mine = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
            using var events = services.GetRequiredService<IJobNotifier>().SubscribeAll(e =>
            {
                if (e is JobStarted && jobs.RunsHere(e.JobId))
                {
                    mine[e.JobId] = true;
                    lines.WriteLine($"started {e.JobId}");
                }
                else if (e is JobSucceeded && mine.TryRemove(e.JobId, out _))
                {
                    lines.WriteLine($"succeeded {e.JobId}");
                }
            });

            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

            // Other processes' signals wake this one's idle worker at once (claims otherwise wait for the next poll).
            var relay = services.GetRequiredService<SharedJobEvents>();
            await relay.StartAsync(CancellationToken.None);
            await worker.StartAsync(CancellationToken.None);
            lines.WriteLine("ready");
            lines.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            await worker.StopAsync(CancellationToken.None);
            await relay.StopAsync(CancellationToken.None);

            var claims = jobs.ClaimMilliseconds.Order().ToArray();
            lines.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"claims {claims.Length} p50 {Percentile(claims, 0.50):0.000} p99 {Percentile(claims, 0.99):0.000}"));
            lines.WriteLine("claim-ms " + string.Join(' ', claims.Select(c => c.ToString("0.###", CultureInfo.InvariantCulture))));
            lines.Flush();
            return 0;
        }
        catch (Exception e) when (e is CliException or ArgumentException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Nearest-rank percentile of sorted values; 0 when there are none.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
