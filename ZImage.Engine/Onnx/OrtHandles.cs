using System.Runtime.InteropServices;

namespace ZImage.Engine.Onnx;

/// <summary>
/// A native ORT object released through one OrtApi Release slot. Handles may hold other handles alive
/// (a tensor its allocator, an allocator its session) through <see cref="KeepAlive"/>: SafeHandle reference counts
/// then make ORT objects die in dependency order whatever order managed code disposes or finalizes them.
/// </summary>
internal abstract class OrtHandle : SafeHandle
{
    private List<SafeHandle>? _dependencies;
    private List<IDisposable>? _owned;

    protected OrtHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    private static long _live;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>ORT objects created through this binding and not yet released; the lifetime tests read it.</summary>
    internal static long LiveCount => Interlocked.Read(ref _live);

    /// <summary>Takes ownership of a pointer ORT just returned; every native object enters the binding here.</summary>
    internal static void Adopt(OrtHandle owner, nint raw)
    {
        Marshal.InitHandle(owner, raw);
        if (raw != 0)
            Interlocked.Increment(ref _live);
    }

    protected abstract int ReleaseOrdinal { get; }

    /// <summary>Keeps <paramref name="dependency"/> from being released before this handle is.</summary>
    public void KeepAlive(SafeHandle dependency)
    {
        var added = false;
        dependency.DangerousAddRef(ref added);
        (_dependencies ??= []).Add(dependency);
    }

    /// <summary>Disposes <paramref name="resource"/> (e.g. a pin of managed memory) after the native object is released.</summary>
    public void Own(IDisposable resource) => (_owned ??= []).Add(resource);

    protected override unsafe bool ReleaseHandle()
    {
        ((delegate* unmanaged<nint, void>)OrtNative.Slot(ReleaseOrdinal))(handle);
        Interlocked.Decrement(ref _live);
        if (_owned is not null)
            foreach (var resource in _owned)
                resource.Dispose();
        if (_dependencies is not null)
            foreach (var dependency in _dependencies)
                dependency.DangerousRelease();
        return true;
    }
}

/// <summary>The process-wide OrtEnv; owned by <see cref="OrtRuntime"/> and never released (ORT must outlive every session).</summary>
internal sealed class OrtEnvHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseEnv;
}

/// <summary>An OrtSession; owned by one <see cref="InferenceSession"/>, usable from any thread (ORT's Run is thread-safe).</summary>
internal sealed class OrtSessionHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseSession;
}

/// <summary>OrtSessionOptions; owned by the code that builds one session, used on that thread only, disposed right after CreateSession.</summary>
internal sealed class OrtSessionOptionsHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseSessionOptions;
}

/// <summary>An OrtValue; owned by one <see cref="Tensor"/>; not thread-safe.</summary>
internal sealed class OrtValueHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseValue;
}

/// <summary>OrtRunOptions; owned by one Run call, also touched by that call's cancellation callback until the registration is disposed.</summary>
internal sealed class OrtRunOptionsHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseRunOptions;
}

/// <summary>OrtMemoryInfo; owned by whoever created it (the runtime caches the CPU one for the process); immutable, any thread.</summary>
internal sealed class OrtMemoryInfoHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseMemoryInfo;
}

/// <summary>An OrtAllocator made by CreateAllocator over a session's memory; owned by that <see cref="InferenceSession"/>; kept alive by its tensors.</summary>
internal sealed class OrtAllocatorHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseAllocator;
}

/// <summary>An OrtIoBinding; owned by one <see cref="IoBinding"/>; not thread-safe.</summary>
internal sealed class OrtIoBindingHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseIoBinding;
}

/// <summary>OrtTypeInfo; owned by the code that asked for it, released as soon as it has been read.</summary>
internal sealed class OrtTypeInfoHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseTypeInfo;
}

/// <summary>OrtTensorTypeAndShapeInfo from GetTensorTypeAndShape; owned by the reader, released once read.</summary>
internal sealed class OrtTensorTypeAndShapeInfoHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseTensorTypeAndShapeInfo;
}

/// <summary>OrtCUDAProviderOptionsV2; owned by the code that appends the CUDA provider, released right after.</summary>
internal sealed class OrtCudaProviderOptionsHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseCUDAProviderOptions;
}

/// <summary>OrtTensorRTProviderOptionsV2; owned by the code that appends the TensorRT provider, released right after.</summary>
internal sealed class OrtTensorRtProviderOptionsHandle : OrtHandle
{
    protected override int ReleaseOrdinal => OrtApiOrdinals.ReleaseTensorRTProviderOptions;
}
