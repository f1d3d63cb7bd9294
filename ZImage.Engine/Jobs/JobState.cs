using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>A queued or running job in memory. Mutable fields change only under <see cref="JobService"/>'s lock.</summary>
internal sealed class JobState
{
    public required string Id { get; init; }
    public required string UserName { get; init; }
    public required GenerationRequest Request { get; init; }
    public SeedPolicy SeedPolicy { get; init; }
    public string? IdempotencyKey { get; init; }
    public required DateTimeOffset SubmittedAt { get; init; }
    public int Restarts { get; init; }

    public JobStatus Status { get; set; } = JobStatus.Queued;
    public DateTimeOffset? StartedAt { get; set; }
    public JobProgress? Progress { get; set; }
    public string? Notice { get; set; }
    /// <summary>Why the worker passed over it last time (GPU memory); null when it could start.</summary>
    public string? HeldReason { get; set; }
    public int PublishedPosition { get; set; }
    public string? PublishedHeldReason { get; set; }
    public CancellationTokenSource? Cancellation { get; set; }
    public string? CancelledBy { get; set; }

    public JobSnapshot Snapshot(int? position, TimeSpan? etaStart, TimeSpan? etaFinish) => new()
    {
        Id = Id,
        UserName = UserName,
        Status = Status,
        Request = Request,
        SeedPolicy = SeedPolicy,
        Position = position,
        SubmittedAt = SubmittedAt,
        StartedAt = StartedAt,
        Progress = Progress,
        EtaStart = etaStart,
        EtaFinish = etaFinish,
        Notice = HeldReason ?? Notice,
    };

    public JobRecord ToRecord() => new()
    {
        Id = Id,
        UserName = UserName,
        Status = Status,
        Request = Request,
        SeedPolicy = SeedPolicy,
        IdempotencyKey = IdempotencyKey,
        SubmittedAt = SubmittedAt,
        Restarts = Restarts,
        Notice = Notice,
    };

    public static JobState FromRecord(JobRecord r) => new()
    {
        Id = r.Id,
        UserName = r.UserName,
        Request = r.Request,
        SeedPolicy = r.SeedPolicy,
        IdempotencyKey = r.IdempotencyKey,
        SubmittedAt = r.SubmittedAt,
        Restarts = r.Restarts,
        Notice = r.Notice,
    };
}
