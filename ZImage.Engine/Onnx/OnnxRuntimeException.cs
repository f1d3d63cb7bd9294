using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

/// <summary>ORT's <c>OrtErrorCode</c> (onnxruntime_c_api.h), same names and numbers.</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
    ModelLoadCanceled = 12,
    ModelRequiresCompilation = 13,
    NotFound = 14,
    DeviceReset = 15,
}

/// <summary>The one exception type for every failure reported by ONNX Runtime (and for failing to load it).</summary>
public sealed class OnnxRuntimeException : Exception
{
    public OnnxRuntimeException(OrtErrorCode errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    public OrtErrorCode ErrorCode { get; }

    /// <summary>
    /// Ours for the managed API's exception, <paramref name="context"/> (e.g. the model file) in front. The managed API
    /// keeps the native error code only as its message's "[ErrorCode:Name] " prefix, so that is where the code is read.
    /// </summary>
    internal static OnnxRuntimeException From(Ort.OnnxRuntimeException e, string context)
    {
        const string prefix = "[ErrorCode:";
        var message = e.Message;
        var code = OrtErrorCode.Fail;
        var end = message.IndexOf("] ", StringComparison.Ordinal);
        if (message.StartsWith(prefix, StringComparison.Ordinal) && end > prefix.Length)
        {
            if (Enum.TryParse<OrtErrorCode>(message[prefix.Length..end], out var parsed))
                code = parsed;
            message = message[(end + 2)..];
        }
        return new OnnxRuntimeException(code, $"{context}: {message}", e);
    }
}
