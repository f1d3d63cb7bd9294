using Microsoft.Extensions.Options;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Memory;

/// <summary>
/// Estimates a job's peak GPU memory (docs/vram.md) and compares it with what NVML reports.
/// Without a GPU nothing is refused or held.
/// </summary>
public sealed class VramGuard(IGpuMemoryProbe probe, IModelFootprintSource footprint, IOptionsMonitor<VramOptions> options) : IVramGuard
{
    private const double GiB = 1024.0 * 1024 * 1024;
    private int _sawOutOfMemory;
    private long _loadedModelBytes;

    /// <summary>True once an out-of-memory error happened in this process; Auto then chooses sequential residency.</summary>
    public bool SawOutOfMemory => Volatile.Read(ref _sawOutOfMemory) != 0;

    public long EstimatePeakBytes(GenerationRequest request, ResidencyPolicy mode)
    {
        var o = options.CurrentValue;
        var models = footprint.Current;
        long ditActivations = TransformerActivations(request, o);
        long pixels = (long)request.Width * request.Height;
        long latentCells = pixels / 64;
        long vaeActivations = models.VaeHalfPrecision
            ? pixels * o.VaeHalfBytesPerPixel
            : pixels * o.VaeBytesPerPixel + latentCells * latentCells * o.VaeAttentionBytesPerPair;
        long teActivations = o.TextEncoderWorkspaceBytes;

        return mode switch
        {
            ResidencyPolicy.Sequential => Math.Max(models.TextEncoderBytes + teActivations,
                Math.Max(models.TransformerBytes + ditActivations, models.VaeBytes + vaeActivations)),
            // Lean: every session hands its workspace back after its stage, so only the largest one counts.
            ResidencyPolicy.Lean => models.TotalBytes + o.LeanFixedBytes + Math.Max(ditActivations, vaeActivations),
            // Resident: ONNX Runtime keeps each session's memory arena at its high-water mark, so the three
            // workspaces add up rather than take turns (measured on an H200: docs/performance.md).
            _ => models.TotalBytes + teActivations + ditActivations + vaeActivations,
        };
    }

    public string? CheckNeverFits(GenerationRequest request)
    {
        if (probe.Read() is not { } gpu)
            return null;
        long capacity = Capacity(gpu);
        long need = SmallestPeak(request);
        if (need <= capacity)
            return null;

        var suggestions = new List<string>();
        for (int count = request.Count - 1; count >= 1; count--)
        {
            if (SmallestPeak(request with { Count = count }) <= capacity)
            {
                suggestions.Add(count == 1 ? "1 image" : $"{count} images");
                break;
            }
        }
        if (LargestFittingSize(request, capacity) is { } size)
            suggestions.Add($"{size.Width}x{size.Height}");

        string images = request.Count == 1 ? "" : $" x{request.Count}";
        string advice = suggestions.Count > 0 ? $": try {string.Join(" or ", suggestions)}" : ": even the smallest size does not fit, check the VRAM settings";
        return $"{request.Width}x{request.Height}{images} needs ~{need / GiB:0} GB; this GPU has {gpu.TotalBytes / GiB:0} GB{advice}.";
    }

    public bool FitsNow(GenerationRequest request, out string? waitingReason)
    {
        waitingReason = null;
        if (probe.Read() is not { } gpu)
            return true;
        var mode = DecideResidency(request).Mode;
        // Models the pipeline already holds are inside NVML's "used" figure, so only the rest must be free.
        long need = Math.Max(0, EstimatePeakBytes(request, mode) - Volatile.Read(ref _loadedModelBytes));
        long available = gpu.FreeBytes - MarginBytes(options.CurrentValue);
        if (need <= available)
            return true;
        waitingReason = $"Waiting for GPU memory: needs ~{need / GiB:0.0} GB, {Math.Max(0, gpu.FreeBytes) / GiB:0.0} GB free.";
        return false;
    }

    public ResidencyDecision DecideResidency(GenerationRequest request)
    {
        var policy = options.CurrentValue.Residency;
        if (policy != ResidencyPolicy.Auto)
            return new ResidencyDecision(policy, $"set to {policy.ToString().ToLowerInvariant()} in settings");
        if (SawOutOfMemory)
            return new ResidencyDecision(ResidencyPolicy.Sequential, "auto: sequential since an out-of-memory error");
        if (probe.Read() is not { } gpu)
            return new ResidencyDecision(ResidencyPolicy.Resident, "auto: no GPU, models stay in system memory");
        long capacity = Capacity(gpu);
        if (EstimatePeakBytes(request, ResidencyPolicy.Resident) <= capacity)
            return new ResidencyDecision(ResidencyPolicy.Resident, "auto: all models fit together");
        return EstimatePeakBytes(request, ResidencyPolicy.Lean) <= capacity
            ? new ResidencyDecision(ResidencyPolicy.Lean, "auto: all models fit together when each stage hands its workspace back")
            : new ResidencyDecision(ResidencyPolicy.Sequential, "auto: models do not fit together, loading one at a time");
    }

    public bool IsOutOfMemory(Exception error) => error switch
    {
        GpuOutOfMemoryException => true,
        AggregateException a => a.InnerExceptions.Any(IsOutOfMemory),
        { InnerException: { } inner } => IsOutOfMemory(inner),
        _ => false,
    };

    public void NoteOutOfMemory() => Volatile.Write(ref _sawOutOfMemory, 1);

    /// <summary>The pipeline reports what it holds after loading or releasing a session.</summary>
    public void ReportLoadedModelBytes(long bytes) => Volatile.Write(ref _loadedModelBytes, Math.Max(0, bytes));

    private long SmallestPeak(GenerationRequest request) => options.CurrentValue.Residency switch
    {
        ResidencyPolicy.Resident => EstimatePeakBytes(request, ResidencyPolicy.Resident),
        ResidencyPolicy.Lean => EstimatePeakBytes(request, ResidencyPolicy.Lean),
        _ => Math.Min(EstimatePeakBytes(request, ResidencyPolicy.Lean), EstimatePeakBytes(request, ResidencyPolicy.Sequential)),
    };

    private (int Width, int Height)? LargestFittingSize(GenerationRequest request, long capacity)
    {
        double aspect = request.Height / (double)request.Width;
        for (int w = request.Width - GenerationLimits.SideMultiple; w >= GenerationLimits.MinSide; w -= GenerationLimits.SideMultiple)
        {
            int h = (int)Math.Round(w * aspect / GenerationLimits.SideMultiple) * GenerationLimits.SideMultiple;
            if (h < GenerationLimits.MinSide || h > GenerationLimits.MaxSide)
                continue;
            if (SmallestPeak(request with { Width = w, Height = h }) <= capacity)
                return (w, h);
        }
        return null;
    }

    private long Capacity(GpuMemoryInfo gpu) => gpu.TotalBytes - MarginBytes(options.CurrentValue);

    private static long MarginBytes(VramOptions o) => o.SafetyMarginMiB * 1024L * 1024;

    private static long TransformerActivations(GenerationRequest request, VramOptions o)
    {
        long tokens = (long)(request.Width / 16) * (request.Height / 16);
        // A guided run does a positive and a negative forward each step.
        int forwards = request.IsGuided ? 2 : 1;
        int batch = o.ImagesShareOneBatch ? request.Count : 1;
        return batch * forwards * (o.TransformerBytesPerImage + tokens * o.TransformerBytesPerToken);
    }
}
