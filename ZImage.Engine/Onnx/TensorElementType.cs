namespace ZImage.Engine.Onnx;

/// <summary>ONNX tensor element types (ONNXTensorElementDataType, same numbers as TensorProto.DataType).</summary>
public enum TensorElementType
{
    Undefined = 0,
    Float32 = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Float64 = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}

/// <summary>Where a tensor's memory lives; maps to ORT's OrtMemoryInfo allocator names.</summary>
public enum DeviceMemory
{
    Cpu,
    Cuda,
    CudaPinned,
}

public sealed record TensorInfo(string Name, TensorElementType ElementType, IReadOnlyList<long> Shape, IReadOnlyList<string?> SymbolicDimensions)
{
    /// <summary>Shape as text, symbolic dimensions by name: "[batch, 3, 64, 64]".</summary>
    public override string ToString() =>
        $"{Name}: {ElementType}[{string.Join(", ", Shape.Select((d, i) => d >= 0 ? d.ToString() : SymbolicDimensions[i] ?? "?"))}]";
}

internal static class TensorTypes
{
    public static TensorElementType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? TensorElementType.Float32
        : typeof(T) == typeof(Half) ? TensorElementType.Float16
        : typeof(T) == typeof(BFloat16) ? TensorElementType.BFloat16
        : typeof(T) == typeof(long) ? TensorElementType.Int64
        : typeof(T) == typeof(int) ? TensorElementType.Int32
        : typeof(T) == typeof(bool) ? TensorElementType.Bool
        : typeof(T) == typeof(byte) ? TensorElementType.UInt8
        : typeof(T) == typeof(sbyte) ? TensorElementType.Int8
        : typeof(T) == typeof(short) ? TensorElementType.Int16
        : typeof(T) == typeof(ushort) ? TensorElementType.UInt16
        : typeof(T) == typeof(double) ? TensorElementType.Float64
        : typeof(T) == typeof(uint) ? TensorElementType.UInt32
        : typeof(T) == typeof(ulong) ? TensorElementType.UInt64
        : throw new NotSupportedException($"{typeof(T).Name} is not a tensor element type ONNX Runtime supports.");

    public static int SizeOf(TensorElementType type) => type switch
    {
        TensorElementType.Float32 or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Int16 or TensorElementType.UInt16 => 2,
        TensorElementType.Int64 or TensorElementType.UInt64 or TensorElementType.Float64 => 8,
        TensorElementType.Bool or TensorElementType.UInt8 or TensorElementType.Int8 => 1,
        _ => throw new NotSupportedException($"Tensor element type {type} has no fixed size."),
    };

    public static string MemoryName(DeviceMemory memory) => memory switch
    {
        DeviceMemory.Cpu => "Cpu",
        DeviceMemory.Cuda => "Cuda",
        DeviceMemory.CudaPinned => "CudaPinned",
        _ => throw new ArgumentOutOfRangeException(nameof(memory), memory, "Unknown device memory."),
    };

    public static DeviceMemory MemoryFromName(string name) => name switch
    {
        "Cuda" => DeviceMemory.Cuda,
        "CudaPinned" => DeviceMemory.CudaPinned,
        _ => DeviceMemory.Cpu,
    };
}
