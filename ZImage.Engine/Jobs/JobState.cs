using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>
/// A queued or running job in memory: its durable <see cref="Record"/> plus what only lives while it waits or runs.
/// Everything changes only under <see cref="JobService"/>'s lock; the record is replaced whole, never edited.
/// </summary>
internal sealed class JobState(JobRecord record)
{
    public JobRecord Record { get; private set; } = record;

    public string Id => Record.Id;
    public string UserName => Record.UserName;
    public GenerationRequest Request => Record.Request;

    public JobStatus Status
    {
        get => Record.Status;
        set => Record = Record with { Status = value };
    }

    public DateTimeOffset? StartedAt
    {
        get => Record.StartedAt;
        set => Record = Record with { StartedAt = value };
    }

    public string? Notice
    {
        get => Record.Notice;
        set => Record = Record with { Notice = value };
    }

    /// <summary>Set by the worker when it lets go of the pipeline for this job.</summary>
    public TimeSpan GpuTime
    {
        get => Record.GpuTime;
        set => Record = Record with { GpuTime = value };
    }

    /// <summary>
    /// Back to waiting after its card failed: one more restart counted (the same count as a re-run after a crash), with
    /// the notice saying why; the pictures it saved stay and are replaced when the re-run makes them again.
    /// </summary>
    public void BackInQueueAfterCardFault(string notice)
    {
        Record = Record with { Status = JobStatus.Queued, StartedAt = null, Restarts = Record.Restarts + 1, Notice = notice };
        Progress = null;
        Card = null;
        // Announced again as queued, with its position, even where that position did not change.
        PublishedPosition = 0;
    }

    /// <summary>Records a saved picture's id at its index, so a snapshot of the running job lists the pictures made so far.</summary>
    public void AddImage(int index, long id)
    {
        _imageIds[index] = id;
        Record = Record with { ImageIds = [.. _imageIds.Values] };
    }

    private readonly SortedList<int, long> _imageIds = [];

    public JobProgress? Progress { get; set; }
    /// <summary>The card running it and the in-process worker that took it (status bar, ETAs, queue view); null while queued.</summary>
    public GpuCard? Card { get; set; }
    public int WorkerIndex { get; set; }
    /// <summary>Where it stood in the in-process queue when a worker took it, so a card fault can return it there.</summary>
    public QueuePlace Place { get; set; }
    /// <summary>The worker holding this job's lease in the shared queue (PostgreSQL); null for the in-process queue.</summary>
    public string? Worker { get; init; }
    /// <summary>When this process last wrote the job's progress for other processes (Environment.TickCount64).</summary>
    public long ProgressSharedAt { get; set; }
    /// <summary>Why the worker passed over it last time (GPU memory); null when it could start.</summary>
    public string? HeldReason { get; set; }
    public int PublishedPosition { get; set; }
    public string? PublishedHeldReason { get; set; }
    public CancellationTokenSource? Cancellation { get; set; }
    /// <summary>How many events this job has announced; the next one gets Version + 1.</summary>
    public long Version { get; set; }
    /// <summary>The version taken when the worker marked it running, for the JobStarted that announces it.</summary>
    public long StartVersion { get; set; }
    public string? CancelledBy { get; set; }

    public JobSnapshot Snapshot(int? position, TimeSpan? etaStart, TimeSpan? etaFinish) => new(Record)
    {
        Position = position,
        Progress = Progress,
        EtaStart = etaStart,
        EtaFinish = etaFinish,
        ModelLoad = Record.Status == JobStatus.Running && Progress is { ImageIndex: 0, Step: 0 } ? Card?.Model.LoadEstimate : null,
        Notice = HeldReason ?? Notice,
        Version = Version,
    };
}
