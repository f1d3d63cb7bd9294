namespace ZImage.Engine.Memory;

/// <summary>Free and total GPU memory right now. The NVML implementation lives here; tests give a fake.</summary>
public interface IGpuMemoryProbe
{
    /// <summary>Null in CPU mode (no NVML library, no device, or NVML refused): nothing is guarded then.</summary>
    GpuMemoryInfo? Read();
}

public sealed record GpuMemoryInfo(string Name, long TotalBytes, long FreeBytes, long UsedBytes);

public enum ResidencyPolicy
{
    /// <summary>
    /// Resident when every model plus the job's peak fits, else Lean when that fits, sequential otherwise (and after an
    /// out-of-memory error).
    /// </summary>
    Auto,
    /// <summary>All sessions stay loaded: fastest, needs the most memory.</summary>
    Resident,
    /// <summary>
    /// All sessions stay loaded, and each hands its free workspace back after its stage, so the stages' workspaces
    /// take turns instead of adding up: about 10 GB less at 1024x1024, the VAE a little slower (docs/performance.md).
    /// </summary>
    Lean,
    /// <summary>Text encoder, release, transformer, release, VAE: slowest, needs the least memory.</summary>
    Sequential,
}

/// <summary>What the pipeline must do for one run: Resident, Lean or Sequential, never Auto.</summary>
public sealed record ResidencyDecision(ResidencyPolicy Mode, string Reason);
