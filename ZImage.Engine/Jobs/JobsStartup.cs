using Microsoft.Extensions.Hosting;
using ZImage.Engine.Jobs.Batches;

namespace ZImage.Engine.Jobs;

/// <summary>
/// The store's start-up, once, before the workers, retention and the web server start: schema migration, crash
/// recovery (a job found running is re-queued once), reconciliation of image files with their rows, the measured
/// timings, and then the batches that were running (<see cref="BatchService.ResumeAsync"/>). Registered first among the
/// jobs room's hosted services so the host runs it first and stops it last, when the batches let go of their feeding.
/// Callers that come without a host (tests, the command words) still get the jobs' part on their first call, as
/// <see cref="JobService"/> runs it lazily.
/// </summary>
public sealed class JobsStartup(JobService jobs, BatchService batches) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await jobs.EnsureInitializedAsync().WaitAsync(cancellationToken);
        await batches.ResumeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => batches.StopAsync();
}
