using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// The one place that sorts ONNX Runtime's failures: allocation failures (a plain out-of-memory message, the worker's
/// own retry) and card faults (the card's driver or provider is broken: the card backs off and the job runs elsewhere,
/// <see cref="CardHealth"/>). Everything else is the job's own failure.
/// </summary>
internal static class OrtFailures
{
    // ORT reports a failed CUDA/CPU allocation with a generic error code (Fail / RuntimeException); only the
    // message tells an allocation failure from a bad graph. These are the phrases its allocators, the CUDA
    // provider and cuBLAS/cuDNN use. (Cancellation never goes through here: it is decided by the token.)
    private static readonly string[] Phrases =
    [
        "out of memory",
        "Failed to allocate memory",
        "CUDNN_STATUS_ALLOC_FAILED",
        "CUBLAS_STATUS_ALLOC_FAILED",
        "bad_alloc",
    ];

    public static bool IsOutOfMemory(OnnxRuntimeException e) =>
        Phrases.Any(p => e.Message.Contains(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// True when the error says the card (its driver, CUDA, the execution provider) failed rather than this job: ONNX
    /// Runtime could not create a session on the device or a run threw an engine, provider or device error. Not card
    /// faults: out of memory (its own path), cancellation, bad input (the pipeline's validation), an unusable or missing
    /// model (the model folder, the same on every card: <c>NoSuchFile</c>, <c>InvalidProtobuf</c>, <c>InvalidGraph</c>…),
    /// a missing ONNX Runtime library, saving failures and a lost lease (none of which is an ONNX Runtime error).
    /// </summary>
    public static bool IsCardFault(Exception error) => error switch
    {
        OperationCanceledException or GpuOutOfMemoryException => false,
        OnnxRuntimeException ort => !IsOutOfMemory(ort) && ort.ErrorCode is OrtErrorCode.Fail or OrtErrorCode.EngineError
            or OrtErrorCode.RuntimeException or OrtErrorCode.EpFail or OrtErrorCode.DeviceReset,
        AggregateException all => all.InnerExceptions.Any(IsCardFault),
        { InnerException: { } inner } => IsCardFault(inner),
        _ => false,
    };
}
