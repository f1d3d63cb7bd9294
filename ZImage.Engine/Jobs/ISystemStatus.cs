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
    /// <summary>The measured cold start the next job waits for while the model is not loaded (<see cref="IModelStatus.LoadEstimate"/>).</summary>
    public TimeSpan? ModelLoadEstimate { get; init; }
    /// <summary>GPU seconds per person since start-up (jobs that ended), for /metrics.</summary>
    public IReadOnlyDictionary<string, double> GpuSecondsByUser { get; init; } = new Dictionary<string, double>();
}
