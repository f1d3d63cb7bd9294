using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The store's start-up, the one place it happens: schema migration, crash recovery (a job found running is re-queued
/// once), reconciliation of image files with their rows, the measured timings, and then the batches that were running
/// (<see cref="BatchService.ResumeAsync"/>). Registered first among the jobs room's hosted services, so a host runs it
/// before the workers, retention, the relay and the web server (whose people, tokens and key ring read the same store),
/// and stops it last, when the batches let go of their feeding; nothing else waits for it. Without a host (engine
/// tests, ZImage.Tools' benchmarks and scale worker) call <see cref="JobsStartupExtensions.StartJobsRoomAsync"/> once
/// after building the services. A second start returns the first one's task.
/// </summary>
public sealed class JobsStartup(JobService jobs, BatchService batches) : IHostedService
{
    private readonly Lock _gate = new();
    private Task? _started;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
            _started ??= StartCoreAsync();
        return _started.WaitAsync(cancellationToken);
    }

    private async Task StartCoreAsync()
    {
        await jobs.StartUpAsync();
        await batches.ResumeAsync(CancellationToken.None);
    }

    public Task StopAsync(CancellationToken cancellationToken) => batches.StopAsync();
}

public static class JobsStartupExtensions
{
    /// <summary>The host-less door to <see cref="JobsStartup"/>: the same start-up a host runs, once.</summary>
    public static Task StartJobsRoomAsync(this IServiceProvider services, CancellationToken ct = default) =>
        services.GetRequiredService<JobsStartup>().StartAsync(ct);
}
