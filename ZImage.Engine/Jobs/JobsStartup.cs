using Microsoft.Extensions.Hosting;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The store's start-up, once, before the workers, retention and the web server start: schema migration, crash
/// recovery (a job found running is re-queued once), reconciliation of image files with their rows, and the measured
/// timings. Registered first among the jobs room's hosted services so the host runs it first. Callers that come
/// without a host (tests, the command words) still get it on their first call, as <see cref="JobService"/> runs it lazily.
/// </summary>
public sealed class JobsStartup(JobService jobs) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => jobs.EnsureInitializedAsync().WaitAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
