using Microsoft.Extensions.Hosting;

namespace ZImage.Engine.Jobs;

/// <summary>
/// With PostgreSQL: relays jobs' changes made by other processes (LISTEN/NOTIFY signals; the state itself is read from the
/// database) to this process's subscribers, so a browser connected here follows a job another machine runs. Does nothing
/// on SQLite.
/// </summary>
public sealed class SharedJobEvents(JobService jobs) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await jobs.EnsureInitializedAsync();
        await jobs.ListenForOtherProcessesAsync(stoppingToken);
    }
}
