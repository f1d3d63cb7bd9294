using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Jobs;

/// <summary>What the status bar, /api/v1/system and /metrics show.</summary>
public interface ISystemStatus
{
    SystemStatusSnapshot GetStatus();
}

/// <param name="HasGpu">False in CPU mode (no NVML library or no device); the VRAM numbers are then 0.</param>
/// <param name="ImagesByUser">Images made since start-up, per user (for /metrics).</param>
public sealed record SystemStatusSnapshot(
    bool HasGpu,
    string GpuName,
    long VramTotalBytes,
    long VramUsedBytes,
    long VramFreeBytes,
    int QueuedJobs,
    int RunningJobs,
    int Workers,
    ModelState ModelState,
    string? ModelDetail,
    long JobsSucceeded,
    long JobsFailed,
    long JobsCancelled,
    long OutOfMemoryCount,
    IReadOnlyDictionary<string, long> ImagesByUser)
{
    /// <summary>The first card's measured cold start while its model is not loaded or loading (<see cref="IModelStatus.LoadEstimate"/>).</summary>
    public TimeSpan? ModelLoadEstimate { get; init; }
    /// <summary>
    /// The cold start a job submitted now would wait for, from the card that would take it: null when a free card has
    /// the model loaded or every card is busy (<see cref="JobService.NextJobLoadEstimate"/>).
    /// </summary>
    public TimeSpan? NextJobLoadEstimate { get; init; }
    /// <summary>GPU seconds per person since start-up (jobs that ended), for /metrics.</summary>
    public IReadOnlyDictionary<string, double> GpuSecondsByUser { get; init; } = new Dictionary<string, double>();
    /// <summary>Every card this process drives, in worker order; the fields above describe the first.</summary>
    public IReadOnlyList<CardStatus> Cards { get; init; } = [];
}

/// <summary>One card of this process (ZImage:Engine:Devices): its memory, its model and what it does now.</summary>
/// <param name="Index">Its place in the list (worker order).</param>
/// <param name="DeviceId">The card's number (CUDA device, NVML index).</param>
/// <param name="Progress">The running job's image and step (never its prompt); null unless <see cref="Activity"/> is Running.</param>
public sealed record CardStatus(
    int Index,
    int DeviceId,
    bool HasGpu,
    string Name,
    long VramTotalBytes,
    long VramUsedBytes,
    long VramFreeBytes,
    ModelState ModelState,
    string? ModelDetail,
    CardActivity Activity,
    JobProgress? Progress)
{
    /// <summary>The card's unresolved fault (no job has succeeded on it since); its pause runs until <see cref="CardFault.RetryAt"/>.</summary>
    public CardFault? Fault { get; init; }
}

/// <summary>
/// What a card does now: running a job, loading the model for one, idle with the model loaded, unloaded, or pausing
/// after a card fault (it takes no job until <see cref="CardFault.RetryAt"/>).
/// </summary>
public enum CardActivity
{
    Idle,
    Running,
    Loading,
    Unloaded,
    Faulted,
}
