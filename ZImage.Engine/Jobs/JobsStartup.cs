using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The store's start-up, the one place it happens: schema migration, crash recovery (a job found running is re-queued
/// once), reconciliation of image files with their rows, and the measured timings. Registered first among the jobs
/// room's hosted services, so a host runs it before the workers, retention, the relay and the web server; nothing else
/// waits for it. Without a host (engine tests, ZImage.Tools' benchmarks and scale worker) call
/// <see cref="JobsStartupExtensions.StartJobsRoomAsync"/> once after building the services.
/// </summary>
public sealed class JobsStartup(JobService jobs) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => jobs.StartUpAsync().WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class JobsStartupExtensions
{
    /// <summary>The host-less door to <see cref="JobsStartup"/>: the same start-up a host runs, once.</summary>
    public static Task StartJobsRoomAsync(this IServiceProvider services, CancellationToken ct = default) =>
        services.GetRequiredService<JobsStartup>().StartAsync(ct);
}
