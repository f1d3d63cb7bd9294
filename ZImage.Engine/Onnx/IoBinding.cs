namespace ZImage.Engine.Onnx;

/// <summary>
/// ORT IO binding: inputs and outputs bound to tensors or device memory once, then run repeatedly, so data such as
/// latents can stay on the GPU between steps. Owned by its creator; not thread-safe. Bound tensors are kept alive
/// (and, when over managed memory, pinned) until rebound, cleared or the binding is disposed.
/// </summary>
public sealed class IoBinding : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBindingHandle _handle;
    private readonly Dictionary<string, OrtValueHandle> _inputs = [];
    private readonly Dictionary<string, OrtValueHandle> _outputs = [];

    internal IoBinding(InferenceSession session)
    {
        _session = session;
        _handle = OrtNative.CreateIoBinding(session.Handle);
    }

    public void BindInput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        OrtNative.BindInput(Live, name, tensor.Handle);
        Hold(_inputs, name, tensor.Handle);
    }

    public void BindOutput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        OrtNative.BindOutput(Live, name, tensor.Handle);
        Hold(_outputs, name, tensor.Handle);
    }

    /// <summary>Lets ORT allocate the output in <paramref name="memory"/> of the session's device; read it with <see cref="GetOutputs"/>.</summary>
    public void BindOutput(string name, DeviceMemory memory)
    {
        OrtNative.BindOutputToDevice(Live, name, _session.MemoryInfo(memory));
        Hold(_outputs, name, null);
    }

    /// <summary>Waits until inputs copied by ORT to the device are ready (needed only with asynchronous copies).</summary>
    public void SynchronizeInputs() => OrtNative.IoBindingCall(OrtApiOrdinals.SynchronizeBoundInputs, Live);

    /// <summary>Waits until the device has finished writing the outputs.</summary>
    public void SynchronizeOutputs() => OrtNative.IoBindingCall(OrtApiOrdinals.SynchronizeBoundOutputs, Live);

    public void ClearInputs()
    {
        OrtNative.IoBindingClear(OrtApiOrdinals.ClearBoundInputs, Live);
        Release(_inputs);
    }

    public void ClearOutputs()
    {
        OrtNative.IoBindingClear(OrtApiOrdinals.ClearBoundOutputs, Live);
        Release(_outputs);
    }

    /// <summary>Runs the session over the bound values; cancellation works as in <see cref="InferenceSession.Run"/>.</summary>
    public void Run(CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? runConfig = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var binding = Live;
        using var runOptions = OrtNative.CreateRunOptions(runConfig);
        try
        {
            using (InferenceSession.Terminate(runOptions, cancellationToken))
                OrtNative.RunWithBinding(_session.Handle, runOptions, binding);
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"The run of '{Path.GetFileName(_session.ModelPath)}' was cancelled.", e, cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxRuntimeException(e.ErrorCode, $"Running model '{_session.ModelPath}' with bound values: {e.Message}", e);
        }
    }

    /// <summary>The bound outputs after <see cref="Run"/>, in binding order; each tensor is a new reference the caller disposes.</summary>
    public RunOutputs GetOutputs()
    {
        var names = OrtNative.GetBoundOutputNames(Live);
        var values = OrtNative.GetBoundOutputValues(Live);
        return new RunOutputs(names, _session.WrapOutputs(values));
    }

    public void Dispose()
    {
        if (_handle.IsClosed)
            return;
        _handle.Dispose();
        Release(_inputs);
        Release(_outputs);
    }

    private OrtIoBindingHandle Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    private static void Hold(Dictionary<string, OrtValueHandle> held, string name, OrtValueHandle? value)
    {
        if (held.Remove(name, out var previous))
            previous.DangerousRelease();
        if (value is null)
            return;
        var added = false;
        value.DangerousAddRef(ref added);
        held[name] = value;
    }

    private static void Release(Dictionary<string, OrtValueHandle> held)
    {
        foreach (var value in held.Values)
            value.DangerousRelease();
        held.Clear();
    }
}
