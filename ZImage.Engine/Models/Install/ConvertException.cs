namespace ZImage.Engine.Models.Install;

/// <summary>Why a conversion stopped; the UI words each kind in the user's language from the fields beside it.</summary>
public enum ConvertFailure
{
    /// <summary>A folder or file of the checkpoint is not there (<see cref="ConvertException.File"/>): download incomplete or wrong folder.</summary>
    MissingFile,
    /// <summary>A file cannot be read as what it should be (<see cref="ConvertException.File"/>): truncated or corrupt safetensors, bad JSON.</summary>
    Malformed,
    /// <summary>A config.json describes something this installer does not build (another architecture or option).</summary>
    Unsupported,
    /// <summary>Tensors are missing or mis-shaped for the architecture in config.json (<see cref="ConvertException.Tensor"/> is the first).</summary>
    TensorsDoNotMatch,
    /// <summary>A weight (<see cref="ConvertException.Tensor"/>, <see cref="ConvertException.Value"/>) does not fit fp16; bf16 or fp32 would hold it.</summary>
    Fp16Overflow,
    /// <summary>Too little free disk (<see cref="ConvertException.NeededBytes"/> vs <see cref="ConvertException.FreeBytes"/>).</summary>
    DiskFull,
    /// <summary>The model folder (<see cref="ConvertException.File"/>) already exists with files in it; it is never overwritten.</summary>
    TargetExists,
}

/// <summary>A checkpoint that cannot be converted, or a place it cannot be converted to; nothing is left behind.</summary>
public sealed class ConvertException(ConvertFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public ConvertFailure Failure { get; } = failure;
    public string? File { get; init; }
    public string? Tensor { get; init; }
    public float? Value { get; init; }
    public long? NeededBytes { get; init; }
    public long? FreeBytes { get; init; }
}
