using Microsoft.Extensions.Logging;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Card faults (docs/scale-out.md, "A broken card"): when a card's driver or provider fails (<see cref="OrtFailures.IsCardFault"/>)
/// the card pauses before its next job (<see cref="CardHealth"/>, ZImage:Jobs:CardFaultBackoffSeconds doubling up to
/// CardFaultBackoffMaxSeconds) and the job goes back to the queue, up to ZImage:Jobs:CardFaultRetries times, so a broken
/// card neither drains the queue into failures nor throws people's jobs away, and a job that breaks every card still ends.
/// </summary>
public sealed partial class JobWorker
{
    /// <summary>A job that failed on cards more often than ZImage:Jobs:CardFaultRetries allows starts its reason with this.</summary>
    public const string CardFaultPrefix = "The graphics card failed: ";

    /// <summary>The card a job runs on (the first when the job carries none).</summary>
    private GpuCard CardOf(JobState job) => job.Card ?? jobs.Cards[0];

    /// <summary>Waits while this worker's card pauses after a fault (so other cards take the queue); false when the studio stops.</summary>
    private async Task<bool> WaitOutCardPauseAsync(int worker, CancellationToken stoppingToken)
    {
        var card = jobs.Cards.ForWorker(worker);
        // Again after each wait: another worker on the same card may have failed meanwhile and lengthened the pause.
        while (card.Health.WaitAt(clock.GetUtcNow()) is var pause && pause > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(pause, clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The card failed while running <paramref name="job"/>: the card pauses, and the job goes back to the queue while it
    /// has restarts left, else fails with a reason naming the card and its error. A job its owner stopped meanwhile is
    /// recorded as cancelled.
    /// </summary>
    private async Task CardFaultedAsync(JobState job, Exception error, string? notice)
    {
        var card = CardOf(job);
        var o = options.CurrentValue;
        var fault = card.Health.Faulted(error.Message, clock.GetUtcNow(), o.CardFaultBackoff, o.CardFaultBackoffMax);
        logger.LogError(error, "GPU {Device} failed while running job {JobId} ({InARow} in a row); it takes no job until {RetryAt:u}",
            card.DeviceId, job.Id, fault.InARow, fault.RetryAt);
        if (job.Cancellation!.IsCancellationRequested)
        {
            await jobs.CancelledAsync(job);
            return;
        }
        if (job.Record.Restarts < o.CardFaultRetries)
        {
            await jobs.RequeueAfterCardFaultAsync(job,
                $"GPU {card.DeviceId} failed while making these pictures; the job was queued again to run on a working card.");
            return;
        }
        int runs = job.Record.Restarts + 1;
        await jobs.FailedAsync(job, $"{CardFaultPrefix}this job ran {runs} {(runs == 1 ? "time" : "times")} and the card failed each time; " +
            $"the last was GPU {card.DeviceId}: {error.Message}", notice, outOfMemory: false);
    }
}
