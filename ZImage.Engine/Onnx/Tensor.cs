using System.Buffers;
using System.Runtime.InteropServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

/// <summary>
/// A tensor held by ONNX Runtime: over pinned managed memory (<see cref="Create{T}(T[], ReadOnlySpan{long})"/>, no copy),
/// in memory a session allocated on its device (<see cref="InferenceSession.AllocateTensor"/>), or a run's output.
/// Owned by whoever created or received it; dispose it (or its <see cref="RunOutputs"/>). An <see cref="IoBinding"/>
/// that binds it holds its own reference, so the native value (and the pin) lives until both are done. Not thread-safe.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly Ort.OrtValue _value;
    private readonly long[] _shape;
    private readonly MemoryHandle? _pin;
    private readonly SessionLease? _session;
    private int _references = 1;
    private bool _disposed;

    /// <summary>Takes ownership of an adopted <paramref name="value"/>, the pin of its data and a reference on the session whose memory it may use.</summary>
    internal Tensor(Ort.OrtValue value, MemoryHandle? pin = null, SessionLease? session = null)
    {
        _value = value;
        _pin = pin;
        _session = session;
        try
        {
            if (value.OnnxType != Ort.OnnxValueType.ONNX_TYPE_TENSOR)
                throw new OnnxRuntimeException(OrtErrorCode.NotImplemented, "The value is not a tensor (sequences and maps are not supported).");
            var info = value.GetTensorTypeAndShape();
            ElementType = (TensorElementType)(int)info.ElementDataType;
            _shape = info.Shape;
            ElementCount = info.ElementCount;
            using var memory = value.GetTensorMemoryInfo();
            Location = TensorTypes.MemoryFromName(memory.Name);
            DeviceId = memory.Id;
        }
        catch
        {
            Free();
            throw;
        }
    }

    public TensorElementType ElementType { get; }

    public IReadOnlyList<long> Shape => _shape;

    public long ElementCount { get; }

    public DeviceMemory Location { get; }

    public int DeviceId { get; }

    /// <summary>True when the data can be read from C# (CPU or CUDA-pinned host memory).</summary>
    public bool IsHostAccessible => Location is DeviceMemory.Cpu or DeviceMemory.CudaPinned;

    public long SizeInBytes => ElementCount * TensorTypes.SizeOf(ElementType);

    /// <summary>The native value, for a run or a binding; valid while this tensor is.</summary>
    internal Ort.OrtValue Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _value;
        }
    }

    /// <summary>
    /// Wraps <paramref name="data"/> without copying: the memory stays pinned until the tensor is disposed, and ORT reads
    /// (and, bound as an output, writes) it in place. <typeparamref name="T"/> picks the element type: float, Half,
    /// <see cref="BFloat16"/>, long, int, bool (and the other fixed-size ONNX types).
    /// </summary>
    public static Tensor Create<T>(T[] data, params ReadOnlySpan<long> shape) where T : unmanaged =>
        Create(data.AsMemory(), shape);

    public static unsafe Tensor Create<T>(Memory<T> data, params ReadOnlySpan<long> shape) where T : unmanaged
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

        // Over raw memory rather than the managed API's Memory<T> overload: that one knows only its own element
        // structs, and ours (Half, BFloat16) have the same layout.
        var pin = data.Pin();
        Ort.OrtValue value;
        try
        {
            value = OrtObjects.Adopt(Ort.OrtValue.CreateTensorValueWithData(Ort.OrtMemoryInfo.DefaultInstance,
                (Ort.Tensors.TensorElementType)(int)type, shape.ToArray(), (nint)pin.Pointer, (long)data.Length * sizeof(T)));
        }
        catch (Ort.OnnxRuntimeException e)
        {
            pin.Dispose();
            throw OnnxRuntimeException.From(e, "Creating a tensor");
        }
        return new Tensor(value, pin);
    }

    /// <summary>Reads the data in place (host-accessible tensors only); valid until the tensor is disposed.</summary>
    public ReadOnlySpan<T> GetData<T>() where T : unmanaged => GetMutableData<T>();

    public Span<T> GetMutableData<T>() where T : unmanaged
    {
        var type = TensorTypes.Of<T>();
        if (type != ElementType)
            throw new InvalidOperationException($"The tensor holds {ElementType}, not {type} ({typeof(T).Name}).");
        if (!IsHostAccessible)
            throw new InvalidOperationException(
                $"The tensor lives in {Location} memory (device {DeviceId}); copy it to the CPU (bind a CPU output) before reading it.");
        return MemoryMarshal.Cast<byte, T>(Value.GetTensorMutableRawData());
    }

    public T[] ToArray<T>() where T : unmanaged => GetData<T>().ToArray();

    public override string ToString() => $"{ElementType}[{string.Join(", ", _shape)}] on {Location}";

    /// <summary>A binding's own reference: the native value stays until <see cref="Unhold"/> as well as Dispose.</summary>
    internal Ort.OrtValue Hold()
    {
        var value = Value;
        _references++;
        return value;
    }

    internal void Unhold()
    {
        if (--_references == 0)
            Free();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Unhold();
    }

    private void Free()
    {
        OrtObjects.Release(_value);
        _pin?.Dispose();
        _session?.Exit();
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
