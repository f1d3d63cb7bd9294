using ZImage.Engine.Onnx;

namespace ZImage.Engine.Pipeline;

/// <summary>Recognises ONNX Runtime's allocation failures so they can become a plain out-of-memory message.</summary>
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
}
