using System.Buffers;
using System.Runtime.InteropServices;

namespace ZImage.Engine.Onnx;

/// <summary>
/// A tensor held by ONNX Runtime: over pinned managed memory (<see cref="Create{T}"/>, no copy), in memory a session
/// allocated on its device (<see cref="InferenceSession.AllocateTensor"/>), or a run's output.
/// Owned by whoever created or received it; dispose it (or its <see cref="RunOutputs"/>). Not thread-safe.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly long[] _shape;

    internal Tensor(OrtValueHandle handle)
    {
        Handle = handle;
        var raw = handle.DangerousGetHandle();
        if (!OrtNative.IsTensor(raw))
            throw new OnnxRuntimeException(OrtErrorCode.NotImplemented, "The value is not a tensor (sequences and maps are not supported).");
        (ElementType, _shape, ElementCount) = OrtNative.GetTensorTypeAndShape(raw);
        var (memoryName, deviceId) = OrtNative.GetTensorMemoryInfo(raw);
        Location = TensorTypes.MemoryFromName(memoryName);
        DeviceId = deviceId;
    }

    internal OrtValueHandle Handle { get; }

    public TensorElementType ElementType { get; }

    public IReadOnlyList<long> Shape => _shape;

    public long ElementCount { get; }

    public DeviceMemory Location { get; }

    public int DeviceId { get; }

    /// <summary>True when the data can be read from C# (CPU or CUDA-pinned host memory).</summary>
    public bool IsHostAccessible => Location is DeviceMemory.Cpu or DeviceMemory.CudaPinned;

    public long SizeInBytes => OrtNative.GetTensorSizeInBytes(Live.DangerousGetHandle());

    /// <summary>
    /// Wraps <paramref name="data"/> without copying: the memory stays pinned until the tensor is disposed, and ORT reads
    /// (and, bound as an output, writes) it in place. <typeparamref name="T"/> picks the element type: float, Half,
    /// <see cref="BFloat16"/>, long, int, bool (and the other fixed-size ONNX types).
    /// </summary>
    public static Tensor Create<T>(T[] data, params ReadOnlySpan<long> shape) where T : unmanaged =>
        Create(data.AsMemory(), shape);

    public static Tensor Create<T>(Memory<T> data, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        var type = TensorTypes.Of<T>();
        long count = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
                throw new ArgumentOutOfRangeException(nameof(shape), $"Tensor dimensions must be 0 or more; got [{string.Join(", ", shape.ToArray())}].");
            count *= dimension;
        }
        if (count != data.Length)
            throw new ArgumentException(
                $"Shape [{string.Join(", ", shape.ToArray())}] holds {count} elements but the data has {data.Length}.", nameof(data));

        var pin = data.Pin();
        try
        {
            unsafe
            {
                var value = OrtNative.CreateTensorWithData(OrtRuntime.CpuMemoryInfo, pin.Pointer,
                    (nuint)(data.Length * sizeof(T)), shape, type);
                value.Own(pin);
                return new Tensor(value);
            }
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>Reads the data in place (host-accessible tensors only); valid until the tensor is disposed.</summary>
    public ReadOnlySpan<T> GetData<T>() where T : unmanaged => GetMutableData<T>();

    public unsafe Span<T> GetMutableData<T>() where T : unmanaged
    {
        var type = TensorTypes.Of<T>();
        if (type != ElementType)
            throw new InvalidOperationException($"The tensor holds {ElementType}, not {type} ({typeof(T).Name}).");
        if (!IsHostAccessible)
            throw new InvalidOperationException(
                $"The tensor lives in {Location} memory (device {DeviceId}); copy it to the CPU (bind a CPU output) before reading it.");
        var data = OrtNative.GetTensorMutableData(Live.DangerousGetHandle());
        return new Span<T>(data, checked((int)ElementCount));
    }

    public T[] ToArray<T>() where T : unmanaged => GetData<T>().ToArray();

    public override string ToString() => $"{ElementType}[{string.Join(", ", _shape)}] on {Location}";

    public void Dispose() => Handle.Dispose();

    private OrtValueHandle Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
            return Handle;
        }
    }
}

/// <summary>The outputs of one run, by position and by name; disposing it disposes every tensor.</summary>
public sealed class RunOutputs : IReadOnlyList<Tensor>, IDisposable
{
    private readonly string[] _names;
    private readonly Tensor[] _tensors;

    internal RunOutputs(string[] names, Tensor[] tensors)
    {
        _names = names;
        _tensors = tensors;
    }

    public IReadOnlyList<string> Names => _names;

    public int Count => _tensors.Length;

    public Tensor this[int index] => _tensors[index];

    public Tensor this[string name]
    {
        get
        {
            var index = Array.IndexOf(_names, name);
            return index >= 0
                ? _tensors[index]
                : throw new KeyNotFoundException($"The run has no output '{name}'; it has {string.Join(", ", _names)}.");
        }
    }

    public IEnumerator<Tensor> GetEnumerator() => ((IEnumerable<Tensor>)_tensors).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var tensor in _tensors)
            tensor.Dispose();
    }
}
