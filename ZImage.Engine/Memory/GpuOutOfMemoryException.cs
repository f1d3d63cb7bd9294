namespace ZImage.Engine.Memory;

/// <summary>
/// The pipeline throws this when the GPU ran out of memory during a run. ORT reports a failed allocation with a
/// generic error code, so the pipeline recognises it by the allocators' phrases (OrtFailures); cancellation is
/// never decided that way. The worker fails the job with a plain sentence and, when enabled, retries it once one
/// image at a time.
/// </summary>
public class GpuOutOfMemoryException : Exception
{
    public GpuOutOfMemoryException(string message) : base(message) { }

    public GpuOutOfMemoryException(string message, Exception inner) : base(message, inner) { }
}
