using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

/// <summary>
/// ORT IO binding: inputs and outputs bound to tensors or device memory once, then run repeatedly, so data such as
/// latents can stay on the GPU between steps. Owned by its creator; not thread-safe. Bound tensors are kept alive
/// (and, when over managed memory, pinned) until rebound, cleared or the binding is disposed; the binding keeps its
/// session until it is disposed.
/// </summary>
public sealed class IoBinding : IDisposable
{
    private readonly InferenceSession _session;
    private readonly Ort.OrtIoBinding _binding;
    private readonly Dictionary<string, Tensor> _inputs = [];
    private readonly Dictionary<string, Tensor> _outputs = [];
    private bool _disposed;

    /// <summary>Takes the adopted <paramref name="binding"/> and a reference on <paramref name="session"/>'s lease.</summary>
    internal IoBinding(InferenceSession session, Ort.OrtIoBinding binding)
    {
        _session = session;
        _binding = binding;
    }

    public void BindInput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Call(() => Live.BindInput(name, tensor.Value), $"Binding input '{name}'");
        Hold(_inputs, name, tensor);
    }

    public void BindOutput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Call(() => Live.BindOutput(name, tensor.Value), $"Binding output '{name}'");
        Hold(_outputs, name, tensor);
    }

    /// <summary>Lets ORT allocate the output in <paramref name="memory"/> of the session's device; read it with <see cref="GetOutputs"/>.</summary>
    public void BindOutput(string name, DeviceMemory memory)
    {
        var info = _session.MemoryInfo(memory);
        Call(() => Live.BindOutputToDevice(name, info), $"Binding output '{name}' to {memory} memory");
        Hold(_outputs, name, null);
    }

    /// <summary>Waits until inputs copied by ORT to the device are ready (needed only with asynchronous copies).</summary>
    public void SynchronizeInputs() => Call(() => Live.SynchronizeBoundInputs(), "Synchronizing bound inputs");

    /// <summary>Waits until the device has finished writing the outputs.</summary>
    public void SynchronizeOutputs() => Call(() => Live.SynchronizeBoundOutputs(), "Synchronizing bound outputs");

    public void ClearInputs()
    {
        Call(() => Live.ClearBoundInputs(), "Clearing bound inputs");
        Release(_inputs);
    }

    public void ClearOutputs()
    {
        Call(() => Live.ClearBoundOutputs(), "Clearing bound outputs");
        Release(_outputs);
    }

    /// <summary>Runs the session over the bound values; cancellation works as in <see cref="InferenceSession.Run"/>.</summary>
    public void Run(CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? runConfig = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var binding = Live;
        InferenceSession.Execute(cancellationToken, runConfig, $"Running model '{_session.ModelPath}' with bound values", runOptions =>
        {
            _session.NativeRunWithBinding(runOptions, binding);
            return true;
        });
    }

    /// <summary>The bound outputs after <see cref="Run"/>, in binding order; each tensor is a new reference the caller disposes.</summary>
    public RunOutputs GetOutputs()
    {
        var binding = Live;
        string[] names = [];
        IEnumerable<Ort.OrtValue> values = [];
        Call(() =>
        {
            names = binding.GetOutputNames();
            values = binding.GetOutputValues();
        }, "Reading bound outputs");
        return new RunOutputs(names, _session.WrapOutputs(values));
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        OrtObjects.Release(_binding);
        Release(_inputs);
        Release(_outputs);
        _session.Lease.Exit();
    }

    private Ort.OrtIoBinding Live
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _binding;
        }
    }

    private static void Call(Action call, string context)
    {
        try
        {
            call();
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OnnxRuntimeException.From(e, context);
        }
    }

    private static void Hold(Dictionary<string, Tensor> held, string name, Tensor? tensor)
    {
        if (held.Remove(name, out var previous))
            previous.Unhold();
        if (tensor is null)
            return;
        tensor.Hold();
        held[name] = tensor;
    }

    private static void Release(Dictionary<string, Tensor> held)
    {
        foreach (var tensor in held.Values)
            tensor.Unhold();
        held.Clear();
    }
}
