using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ZImage.Engine.Jobs;

/// <summary>
/// With PostgreSQL: relays jobs' changes made by other processes (LISTEN/NOTIFY signals; the state itself is read from the
/// database) to this process's subscribers, so a browser connected here follows a job another machine runs; and keeps the
/// status counts (queued, running) of every process fresh. Does nothing on SQLite.
/// </summary>
public sealed class SharedJobEvents(JobService jobs, ILogger<SharedJobEvents> logger) : BackgroundService
{
    private static readonly TimeSpan CountsInterval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.WhenAll(jobs.ListenForOtherProcessesAsync(stoppingToken), RefreshCountsAsync(stoppingToken));
    }

    private async Task RefreshCountsAsync(CancellationToken ct)
    {
        try
        {
            do
            {
                try
                {
                    await jobs.RefreshSharedCountsAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Could not read the shared queue's counts; trying again in {Seconds} s", CountsInterval.TotalSeconds);
                }
                await Task.Delay(CountsInterval, ct);
            }
            while (!ct.IsCancellationRequested);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
