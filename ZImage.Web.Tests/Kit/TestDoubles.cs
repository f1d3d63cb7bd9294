using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;

namespace ZImage.Web.Tests.Kit;

public sealed class FakeMemoryProbe(GpuMemoryInfo? info) : IGpuMemoryProbe
{
    public const long GiB = 1024L * 1024 * 1024;

    public GpuMemoryInfo? Read() => info;

    /// <summary>Named so nobody reading a screenshot takes it for a real card.</summary>
    public static FakeMemoryProbe TestGpu() => new(new GpuMemoryInfo("Test GPU (simulated)", 80 * GiB, 71 * GiB, 9 * GiB));
}

/// <param name="load">The measured cold start a job on this card would wait for (the model not loaded); null: loaded.</param>
public sealed class FixedModelStatus(ModelState state, string? detail = null, TimeSpan? load = null) : IModelStatus
{
    public ModelState State => state;
    public string? Detail => detail;
    public TimeSpan? LoadEstimate => load;
}

public sealed class FixedRuntimeInfo(RuntimeInfo info) : IRuntimeInfoSource
{
    public RuntimeInfo Get() => info;
}
