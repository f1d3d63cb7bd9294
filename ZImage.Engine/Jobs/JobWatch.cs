using System.Threading.Channels;

namespace ZImage.Engine.Jobs;

/// <summary>
/// One thing a watcher learns about a job: first its <see cref="Snapshot"/>, then each <see cref="Event"/>. Versions
/// count per job (<see cref="JobEvent.Version"/>), so a watcher keeps the last one it has and drops anything not newer.
/// </summary>
public sealed record JobUpdate(string JobId, long Version, JobSnapshot? Snapshot, JobEvent? Event)
{
    public static JobUpdate Of(JobSnapshot snapshot) => new(snapshot.Id, snapshot.Version, snapshot, null);

    public static JobUpdate Of(JobEvent e) => new(e.JobId, e.Version, null, e);

    /// <summary>Nothing follows this one for its job.</summary>
    public bool IsFinal => Snapshot?.Status.IsFinal() ?? Event is JobSucceeded or JobFailed or JobCancelled;
}

/// <summary>
/// The hand-over between the publishing thread (often the GPU worker, between two denoising steps) and one watcher:
/// the publisher only queues, the watcher's own task does everything else. At most <see cref="MaxPendingSteps"/>
/// steps wait unread; a newer step arriving beyond that is dropped (the next one carries the same and more), while
/// queued, started, and final events are never dropped.
/// </summary>
internal sealed class JobUpdateChannel
{
    public const int MaxPendingSteps = 4;
    private readonly Channel<JobUpdate> _channel = Channel.CreateUnbounded<JobUpdate>(new UnboundedChannelOptions { SingleReader = true });
    private int _pendingSteps;

    public void Write(JobEvent e)
    {
        if (e is JobStep)
        {
            if (Interlocked.Increment(ref _pendingSteps) > MaxPendingSteps)
            {
                Interlocked.Decrement(ref _pendingSteps);
                return;
            }
        }
        _channel.Writer.TryWrite(JobUpdate.Of(e));
    }

    public async IAsyncEnumerable<JobUpdate> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var update in _channel.Reader.ReadAllAsync(ct))
        {
            if (update.Event is JobStep)
                Interlocked.Decrement(ref _pendingSteps);
            yield return update;
        }
    }
}
