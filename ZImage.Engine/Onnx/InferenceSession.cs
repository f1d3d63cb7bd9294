using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

/// <summary>
/// One loaded model on one execution provider. Run may be called from several threads at once (ORT's Run is
/// thread-safe). Dispose may race a run: the native session is released when the last run, and the last tensor in
/// its memory, is done. Tensors returned by runs stay valid after the session is disposed.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly Ort.InferenceSession _session;
    private readonly SessionLease _lease;
    private readonly Dictionary<(DeviceMemory, int), (Ort.OrtMemoryInfo Info, Ort.OrtAllocator Allocator)> _allocators = [];
    private readonly Lock _allocatorGate = new();

    private InferenceSession(string modelPath, InferenceSessionOptions options, Ort.InferenceSession session)
    {
        ModelPath = modelPath;
        Options = options;
        _session = session;
        _lease = new SessionLease(ReleaseNative);
        Inputs = ReadInfos(session.InputNames, session.InputMetadata);
        Outputs = ReadInfos(session.OutputNames, session.OutputMetadata);
    }

    public string ModelPath { get; }

    public InferenceSessionOptions Options { get; }

    public ExecutionProvider Provider => Options.Provider;

    public IReadOnlyList<TensorInfo> Inputs { get; }

    public IReadOnlyList<TensorInfo> Outputs { get; }

    internal static InferenceSession Open(OrtRuntime runtime, string modelPath, InferenceSessionOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        options.Validate();
        var fullPath = Path.GetFullPath(modelPath);
        if (!File.Exists(fullPath))
            throw new OnnxRuntimeException(OrtErrorCode.NoSuchFile, $"Model file '{fullPath}' does not exist.");

        var sessionOptions = options.CreateOrtOptions(runtime);
        try
        {
            Ort.InferenceSession session;
            try
            {
                session = OrtObjects.Adopt(new Ort.InferenceSession(fullPath, sessionOptions));
            }
            catch (Ort.OnnxRuntimeException e)
            {
                throw OnnxRuntimeException.From(e, $"Loading model '{fullPath}'");
            }
            try
            {
                return new InferenceSession(fullPath, options, session);
            }
            catch
            {
                OrtObjects.Release(session);
                throw;
            }
        }
        finally
        {
            OrtObjects.Release(sessionOptions);
        }
    }

    private static TensorInfo[] ReadInfos(IReadOnlyList<string> names, IReadOnlyDictionary<string, Ort.NodeMetadata> metadata) =>
        names.Select(name =>
        {
            var node = metadata[name];
            if (!node.IsTensor)
                return new TensorInfo(name, TensorElementType.Undefined, [], []);
            return new TensorInfo(name, (TensorElementType)(int)node.ElementDataType,
                node.Dimensions.Select(d => (long)d).ToArray(),
                node.SymbolicDimensions.Select(s => string.IsNullOrEmpty(s) ? null : s).ToArray());
        }).ToArray();

    /// <summary>
    /// Runs the model. <paramref name="outputNames"/> defaults to every output. Cancelling <paramref name="cancellationToken"/>
    /// terminates the run in flight (ORT stops between nodes) and throws <see cref="OperationCanceledException"/>.
    /// <paramref name="runConfig"/> are run config entries for this run only, e.g.
    /// <see cref="InferenceSessionOptions.ArenaShrinkRunConfig"/> to hand the arena's free memory back after it.
    /// </summary>
    public RunOutputs Run(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyList<string>? outputNames = null,
        CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? runConfig = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        cancellationToken.ThrowIfCancellationRequested();
        var names = outputNames?.ToArray() ?? Outputs.Select(o => o.Name).ToArray();
        foreach (var name in names)
            if (!Outputs.Any(o => o.Name == name))
                throw new ArgumentException($"'{name}' is not an output of model '{ModelPath}'; its outputs are {string.Join(", ", Outputs.Select(o => o.Name))}.", nameof(outputNames));

        var inputNames = new string[inputs.Count];
        var inputValues = new Ort.OrtValue[inputs.Count];
        var index = 0;
        foreach (var (name, tensor) in inputs)
        {
            CheckInput(name, tensor);
            inputNames[index] = name;
            inputValues[index++] = tensor.Value;
        }

        _lease.Enter(this);
        try
        {
            var results = Execute(cancellationToken, runConfig, $"Running model '{ModelPath}'",
                runOptions => _session.Run(runOptions, inputNames, inputValues, names));
            return new RunOutputs(names, WrapOutputs(results));
        }
        finally
        {
            _lease.Exit();
        }
    }

    /// <summary>A binding of inputs and outputs to memory (e.g. GPU tensors kept between steps), run with <see cref="IoBinding.Run"/>.</summary>
    public IoBinding CreateBinding()
    {
        _lease.Enter(this);
        try
        {
            return new IoBinding(this, OrtObjects.Adopt(_session.CreateIoBinding()));
        }
        catch
        {
            _lease.Exit();
            throw;
        }
    }

    internal SessionLease Lease => _lease;

    internal void NativeRunWithBinding(Ort.RunOptions runOptions, Ort.OrtIoBinding binding) => _session.RunWithBinding(runOptions, binding);

    /// <summary>
    /// One run through the managed API: fresh run options (with <paramref name="runConfig"/>), terminated when the token
    /// is cancelled. The error that follows a cancellation becomes <see cref="OperationCanceledException"/> because the
    /// token was cancelled, whatever ORT's message says; every other error becomes ours with <paramref name="context"/>.
    /// </summary>
    internal static T Execute<T>(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? runConfig, string context,
        Func<Ort.RunOptions, T> run)
    {
        var runOptions = OrtObjects.Adopt(new Ort.RunOptions());
        try
        {
            foreach (var (key, value) in runConfig ?? new Dictionary<string, string>())
                runOptions.AddRunConfigEntry(key, value);
            using (cancellationToken.Register(static state => ((Ort.RunOptions)state!).Terminate = true, runOptions))
                return run(runOptions);
        }
        catch (Ort.OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{context} was cancelled.", OnnxRuntimeException.From(e, context), cancellationToken);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OnnxRuntimeException.From(e, context);
        }
        finally
        {
            OrtObjects.Release(runOptions);
        }
    }

    /// <summary>
    /// A tensor allocated by this session in <paramref name="memory"/> (e.g. CUDA memory on the session's device), for
    /// binding as an input or output without a host copy. Its contents are undefined until written.
    /// </summary>
    public Tensor AllocateTensor(TensorElementType elementType, ReadOnlySpan<long> shape, DeviceMemory memory = DeviceMemory.Cpu)
    {
        _lease.Enter(this);
        Ort.OrtValue value;
        try
        {
            var allocator = AllocatorEntry(memory).Allocator;
            value = OrtObjects.Adopt(Ort.OrtValue.CreateAllocatedTensorValue(allocator, (Ort.Tensors.TensorElementType)(int)elementType, shape.ToArray()));
        }
        catch (Ort.OnnxRuntimeException e)
        {
            _lease.Exit();
            throw OnnxRuntimeException.From(e, $"Allocating {elementType}[{string.Join(", ", shape.ToArray())}] in {memory} memory");
        }
        catch
        {
            _lease.Exit();
            throw;
        }
        return new Tensor(value, session: _lease); // a tensor that fails to wrap gives the value and the lease back itself
    }

    internal Ort.OrtMemoryInfo MemoryInfo(DeviceMemory memory) => AllocatorEntry(memory).Info;

    // The session's own allocator for that memory (looked up by device), so tensors land where its provider works.
    private (Ort.OrtMemoryInfo Info, Ort.OrtAllocator Allocator) AllocatorEntry(DeviceMemory memory)
    {
        var deviceId = memory is DeviceMemory.Cuda ? Options.DeviceId : 0;
        lock (_allocatorGate)
        {
            if (_allocators.TryGetValue((memory, deviceId), out var entry))
                return entry;
            var info = OrtObjects.Adopt(new Ort.OrtMemoryInfo(TensorTypes.MemoryName(memory), Ort.OrtAllocatorType.DeviceAllocator, deviceId, Ort.OrtMemType.Default));
            try
            {
                entry = (info, OrtObjects.Adopt(new Ort.OrtAllocator(_session, info)));
            }
            catch (Ort.OnnxRuntimeException e)
            {
                OrtObjects.Release(info);
                var inner = OnnxRuntimeException.From(e, "CreateAllocator");
                throw new OnnxRuntimeException(inner.ErrorCode,
                    $"Model '{ModelPath}' on {Provider} has no allocator for {memory} memory (device {deviceId}): {inner.Message}", inner);
            }
            _allocators[(memory, deviceId)] = entry;
            return entry;
        }
    }

    /// <summary>Our tensors for a run's outputs; each holds the session (its memory may be the session's) until disposed.</summary>
    internal Tensor[] WrapOutputs(IEnumerable<Ort.OrtValue> results)
    {
        var values = results.ToArray();
        var tensors = new Tensor[values.Length];
        var wrapped = 0;
        try
        {
            for (; wrapped < values.Length; wrapped++)
            {
                var value = OrtObjects.Adopt(values[wrapped]);
                _lease.AddRef();
                tensors[wrapped] = new Tensor(value, session: _lease);
            }
            if (_lease.Closing)
                throw new ObjectDisposedException(nameof(InferenceSession),
                    $"The session of '{Path.GetFileName(ModelPath)}' was disposed while it ran; its outputs were released.");
            return tensors;
        }
        catch
        {
            for (var i = 0; i < wrapped; i++)
                tensors[i].Dispose();
            for (var i = wrapped; i < values.Length; i++)
                values[i].Dispose();
            throw;
        }
    }

    private void CheckInput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        var info = Inputs.FirstOrDefault(i => i.Name == name)
            ?? throw new ArgumentException($"'{name}' is not an input of model '{ModelPath}'; its inputs are {string.Join(", ", Inputs.Select(i => i.Name))}.", nameof(name));
        if (info.ElementType != TensorElementType.Undefined && info.ElementType != tensor.ElementType)
            throw new ArgumentException($"Input '{name}' of model '{ModelPath}' takes {info.ElementType}, not {tensor.ElementType}.", nameof(name));
    }

    public override string ToString() => $"{Path.GetFileName(ModelPath)} on {Provider}";

    /// <summary>Refuses new runs; the native session goes when the runs in flight and the tensors in its memory are done.</summary>
    public void Dispose() => _lease.Close();

    private void ReleaseNative()
    {
        lock (_allocatorGate)
        {
            foreach (var (info, allocator) in _allocators.Values)
            {
                OrtObjects.Release(allocator);
                OrtObjects.Release(info);
            }
            _allocators.Clear();
        }
        OrtObjects.Release(_session);
    }
}

/// <summary>
/// Counts who still needs a native session: its owner until Dispose, each run in flight, each binding and each tensor
/// that may live in its memory. The last one out releases it, so a session disposed mid-run goes after the run returns.
/// </summary>
internal sealed class SessionLease(Action release)
{
    private readonly Lock _gate = new();
    private int _count = 1;
    private bool _closing;

    public bool Closing
    {
        get
        {
            lock (_gate)
                return _closing;
        }
    }

    /// <summary>A new user (a run, a binding, an allocated tensor); refused once the owner has disposed the session.</summary>
    public void Enter(object owner)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closing, owner);
            _count++;
        }
    }

    /// <summary>Another reference while one is already held (a run's outputs during the run), allowed after Close.</summary>
    public void AddRef()
    {
        lock (_gate)
            _count++;
    }

    public void Exit()
    {
        bool last;
        lock (_gate)
            last = --_count == 0;
        if (last)
            release();
    }

    public void Close()
    {
        lock (_gate)
        {
            if (_closing)
                return;
            _closing = true;
        }
        Exit();
    }
}
