namespace ZImage.Engine.Memory;

/// <summary>
/// The pipeline throws this when the GPU ran out of memory during a run (it translates ORT's
/// allocation failure by error code, never by message text). The worker fails the job with a plain
/// sentence and, when enabled, retries it once one image at a time.
/// </summary>
public class GpuOutOfMemoryException : Exception
{
    public GpuOutOfMemoryException(string message) : base(message) { }

    public GpuOutOfMemoryException(string message, Exception inner) : base(message, inner) { }

    public long? RequestedBytes { get; init; }
}
