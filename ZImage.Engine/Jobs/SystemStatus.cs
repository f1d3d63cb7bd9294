using ZImage.Engine.Memory;

namespace ZImage.Engine.Jobs;

public sealed class SystemStatus(IGpuMemoryProbe probe, JobService jobs, IModelStatus model) : ISystemStatus
{
    public SystemStatusSnapshot GetStatus()
    {
        var gpu = probe.Read();
        var (queued, running) = jobs.Counts();
        var c = jobs.Counters();
        return new SystemStatusSnapshot(
            gpu is not null,
            gpu?.Name ?? "No GPU (CPU mode)",
            gpu?.TotalBytes ?? 0,
            gpu?.UsedBytes ?? 0,
            gpu?.FreeBytes ?? 0,
            queued,
            running,
            jobs.Workers,
            model.State,
            model.Detail,
            c.Succeeded,
            c.Failed,
            c.Cancelled,
            c.OutOfMemory,
            c.ImagesByUser)
        {
            ModelLoadEstimate = model.LoadEstimate,
            GpuSecondsByUser = jobs.GpuSecondsByUser(),
        };
    }
}

/// <summary>Registered until the pipeline registers its own <see cref="IModelStatus"/>.</summary>
public sealed class UnknownModelStatus : IModelStatus
{
    public ModelState State => ModelState.Unknown;
    public string? Detail => null;
}
