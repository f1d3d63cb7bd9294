using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.History;

namespace ZImage.Engine.Jobs;

/// <summary>Deletes images older than <see cref="JobsOptions.RetentionDays"/>; favourite images are kept forever.</summary>
public sealed class RetentionService(IPictureStore store, IOptionsMonitor<JobsOptions> options, TimeProvider clock, ILogger<RetentionService> logger)
    : BackgroundService
{
    private const int Batch = 500;

    /// <summary>One sweep; returns how many images were deleted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        int days = options.CurrentValue.RetentionDays;
        if (days <= 0)
            return 0;
        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(days);
        int deleted = 0;
        while (true)
        {
            var expired = await store.ListImagesCreatedBeforeAsync(cutoff, Batch, ct);
            foreach (var image in expired)
            {
                if (await HistoryService.DeleteAsync(store, image, ct))
                    deleted++;
            }
            if (expired.Count < Batch)
                break;
        }
        if (deleted > 0)
            logger.LogInformation("Retention: deleted {Count} images older than {Days} days", deleted, days);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Retention sweep failed; trying again at the next interval");
            }
            try
            {
                await Task.Delay(TimeSpan.FromHours(options.CurrentValue.RetentionCheckHours), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
