using ZImage.Engine.Imaging;

namespace ZImage.Engine.Jobs;

/// <summary>
/// Pushes job events to subscribers. Handlers run synchronously on the thread that raised the event
/// (often the GPU worker, between two denoising steps), so they must be quick and must not block. To follow a job or
/// a person's jobs, use <see cref="IJobService.WatchJobAsync"/> / <see cref="IJobService.WatchMineAsync"/>, which only
/// queue here and do their work on the watcher's own task; subscribe directly only for counters that do nothing per
/// step (status bar, metrics). A throwing handler is logged and does not affect the job or other subscribers.
/// Dispose the subscription to stop.
/// </summary>
public interface IJobNotifier
{
    IDisposable SubscribeJob(string jobId, Action<JobEvent> handler);

    /// <summary>Every event of jobs owned by <paramref name="userName"/>.</summary>
    IDisposable SubscribeUser(string userName, Action<JobEvent> handler);

    /// <summary>Every event of every job (status bar, metrics). Contains other users' prompts: do not show them to non-admins.</summary>
    IDisposable SubscribeAll(Action<JobEvent> handler);
}

/// <param name="JobId">The job.</param>
public abstract record JobEvent(string JobId, string UserName, DateTimeOffset At)
{
    /// <summary>
    /// Counts this job's events from 1; a snapshot carries the count at its moment. A watcher drops anything not newer
    /// than what it has, with one comparison (<see cref="JobUpdate"/>).
    /// </summary>
    public long Version { get; init; }
}

/// <summary>Sent on acceptance and again whenever the job's place in line changes.</summary>
public sealed record JobQueued(string JobId, string UserName, DateTimeOffset At, int Position, TimeSpan? EtaStart, string? Notice)
    : JobEvent(JobId, UserName, At);

public sealed record JobStarted(string JobId, string UserName, DateTimeOffset At, TimeSpan? EtaFinish)
    : JobEvent(JobId, UserName, At)
{
    /// <summary>The measured cold start the job waits for first when its card has no model loaded (in <see cref="EtaFinish"/>); else null.</summary>
    public TimeSpan? ModelLoad { get; init; }
}

/// <summary>After each denoising step. <see cref="Step"/> is 1-based; <see cref="ImageIndex"/> 0-based.</summary>
public sealed record JobStep(string JobId, string UserName, DateTimeOffset At,
    int ImageIndex, int ImageCount, int Step, int TotalSteps, TimeSpan? Eta, PreviewPicture? Preview)
    : JobEvent(JobId, UserName, At)
{
    public double Fraction => (ImageIndex * TotalSteps + Step) / (double)Math.Max(1, ImageCount * TotalSteps);
}

/// <summary>
/// Picture <see cref="ImageIndex"/> (0-based) of a running job is saved: its file is written and its row is in History,
/// so it can be shown and downloaded before the job ends. <see cref="ImageId"/> is the picture's id.
/// </summary>
public sealed record JobImageSaved(string JobId, string UserName, DateTimeOffset At, int ImageIndex, int ImageCount, long ImageId)
    : JobEvent(JobId, UserName, At);

public sealed record JobSucceeded(string JobId, string UserName, DateTimeOffset At, IReadOnlyList<long> ImageIds,
    TimeSpan WaitTime, TimeSpan RunTime, string? Notice)
    : JobEvent(JobId, UserName, At);

/// <summary><see cref="OutOfMemory"/> lets metrics count OOMs without parsing the reason.</summary>
public sealed record JobFailed(string JobId, string UserName, DateTimeOffset At, string Reason, bool OutOfMemory)
    : JobEvent(JobId, UserName, At);

public sealed record JobCancelled(string JobId, string UserName, DateTimeOffset At, string CancelledBy)
    : JobEvent(JobId, UserName, At);
