using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Memory;

/// <summary>
/// Admission by GPU memory. The jobs layer asks <see cref="CheckNeverFits"/> before queueing and
/// <see cref="FitsNow"/> before starting; the pipeline asks <see cref="DecideResidency"/> before each run.
/// Formula and constants: docs/vram.md.
/// </summary>
public interface IVramGuard
{
    /// <summary>Estimated peak bytes for the request under a residency mode (Resident or Sequential).</summary>
    long EstimatePeakBytes(GenerationRequest request, ResidencyPolicy mode);

    /// <summary>Null when the job can fit on this GPU in principle (or there is no GPU); otherwise a sentence with a suggestion.</summary>
    string? CheckNeverFits(GenerationRequest request);

    /// <summary>True when free memory allows starting it now; <paramref name="waitingReason"/> explains a hold.</summary>
    bool FitsNow(GenerationRequest request, out string? waitingReason);

    ResidencyDecision DecideResidency(GenerationRequest request);

    /// <summary>Recognises an out-of-memory failure from the pipeline.</summary>
    bool IsOutOfMemory(Exception error);

    /// <summary>Called by the worker after an out-of-memory error: Auto leans sequential from now on.</summary>
    void NoteOutOfMemory();

    /// <summary>The pipeline reports the bytes of model sessions it holds after each load or release (0 at start).</summary>
    void ReportLoadedModelBytes(long bytes);
}
