namespace ZImage.Engine.Onnx;

/// <summary>
/// One loaded model on one execution provider. Run may be called from several threads at once (ORT's Run is
/// thread-safe); Dispose must not race a run. Tensors returned by runs stay valid after the session is disposed.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly OrtSessionHandle _handle;
    private readonly Dictionary<(DeviceMemory, int), (OrtMemoryInfoHandle Info, OrtAllocatorHandle Allocator)> _allocators = [];
    private readonly Lock _allocatorGate = new();

    private InferenceSession(string modelPath, InferenceSessionOptions options, OrtSessionHandle handle)
    {
        ModelPath = modelPath;
        Options = options;
        _handle = handle;
        Inputs = ReadInfos(handle, input: true);
        Outputs = ReadInfos(handle, input: false);
    }

    public string ModelPath { get; }

    public InferenceSessionOptions Options { get; }

    public ExecutionProvider Provider => Options.Provider;

    public IReadOnlyList<TensorInfo> Inputs { get; }

    public IReadOnlyList<TensorInfo> Outputs { get; }

    internal OrtSessionHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    internal static InferenceSession Open(OrtRuntime runtime, string modelPath, InferenceSessionOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        options.Validate();
        var fullPath = Path.GetFullPath(modelPath);
        if (!File.Exists(fullPath))
            throw new OnnxRuntimeException(OrtErrorCode.NoSuchFile, $"Model file '{fullPath}' does not exist.");

        using var sessionOptions = OrtNative.CreateSessionOptions();
        OrtNative.SetSessionGraphOptimizationLevel(sessionOptions, (int)options.OptimizationLevel);
        if (options.IntraOpThreads > 0)
            OrtNative.SetIntraOpNumThreads(sessionOptions, options.IntraOpThreads);
        foreach (var (name, value) in options.FreeDimensionOverrides)
            OrtNative.AddFreeDimensionOverrideByName(sessionOptions, name, value);
        foreach (var (key, value) in options.ConfigEntries)
            OrtNative.AddSessionConfigEntry(sessionOptions, key, value);
        if (options.IsGpu && !options.ConfigEntries.ContainsKey(InferenceSessionOptions.DisableCpuFallbackKey))
            OrtNative.AddSessionConfigEntry(sessionOptions, InferenceSessionOptions.DisableCpuFallbackKey, "1");
        AppendProvider(runtime, sessionOptions, options);

        var handle = OrtNative.CreateSession(runtime.Env, fullPath, sessionOptions);
        try
        {
            return new InferenceSession(fullPath, options, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void AppendProvider(OrtRuntime runtime, OrtSessionOptionsHandle sessionOptions, InferenceSessionOptions options)
    {
        var settings = new Dictionary<string, string>(options.ProviderOptions);
        try
        {
            switch (options.Provider)
            {
                case ExecutionProvider.Cpu:
                    return;
                case ExecutionProvider.Cuda:
                    settings.TryAdd("device_id", options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    OrtNative.AppendCuda(sessionOptions, settings);
                    return;
                case ExecutionProvider.TensorRT:
                    settings.TryAdd("device_id", options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    OrtNative.AppendTensorRt(sessionOptions, settings);
                    return;
                case ExecutionProvider.WebGpu:
                    OrtNative.AppendExecutionProvider(sessionOptions, "WebGPU", settings);
                    return;
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new OnnxRuntimeException(e.ErrorCode, ProviderDiagnostics.Explain(options.Provider, runtime.Directory, e.Message), e);
        }
    }

    private static TensorInfo[] ReadInfos(OrtSessionHandle handle, bool input)
    {
        var count = OrtNative.SessionGetCount(handle, input);
        var infos = new TensorInfo[count];
        for (var i = 0; i < count; i++)
            infos[i] = OrtNative.SessionGetTensorInfo(handle, input, i, OrtNative.SessionGetName(handle, input, i));
        return infos;
    }

    /// <summary>
    /// Runs the model. <paramref name="outputNames"/> defaults to every output. Cancelling <paramref name="cancellationToken"/>
    /// terminates the run in flight (ORT stops between nodes) and throws <see cref="OperationCanceledException"/>.
    /// <paramref name="runConfig"/> are run config entries for this run only, e.g.
    /// <c>memory.enable_memory_arena_shrinkage</c> = <c>gpu:0</c> to hand the arena's free memory back after it.
    /// </summary>
    public RunOutputs Run(IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyList<string>? outputNames = null,
        CancellationToken cancellationToken = default, IReadOnlyDictionary<string, string>? runConfig = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        cancellationToken.ThrowIfCancellationRequested();
        var session = Handle;
        var names = outputNames?.ToArray() ?? Outputs.Select(o => o.Name).ToArray();
        foreach (var name in names)
            if (!Outputs.Any(o => o.Name == name))
                throw new ArgumentException($"'{name}' is not an output of model '{ModelPath}'; its outputs are {string.Join(", ", Outputs.Select(o => o.Name))}.", nameof(outputNames));

        var inputNames = new string[inputs.Count];
        var inputValues = new nint[inputs.Count];
        var index = 0;
        foreach (var (name, tensor) in inputs)
        {
            CheckInput(name, tensor);
            inputNames[index] = name;
            inputValues[index++] = tensor.Handle.DangerousGetHandle();
        }

        var outputValues = new nint[names.Length];
        using (var runOptions = OrtNative.CreateRunOptions(runConfig))
        {
            try
            {
                using (Terminate(runOptions, cancellationToken))
                    OrtNative.Run(session, runOptions, inputNames, inputValues, names, outputValues);
            }
            catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"The run of '{Path.GetFileName(ModelPath)}' was cancelled.", e, cancellationToken);
            }
            catch (OnnxRuntimeException e)
            {
                throw new OnnxRuntimeException(e.ErrorCode, $"Running model '{ModelPath}': {e.Message}", e);
            }
            finally
            {
                foreach (var tensor in inputs.Values)
                    GC.KeepAlive(tensor);
            }
        }
        return new RunOutputs(names, WrapOutputs(outputValues));
    }

    /// <summary>A binding of inputs and outputs to memory (e.g. GPU tensors kept between steps), run with <see cref="IoBinding.Run"/>.</summary>
    public IoBinding CreateBinding() => new(this);

    /// <summary>
    /// A tensor allocated by this session in <paramref name="memory"/> (e.g. CUDA memory on the session's device), for
    /// binding as an input or output without a host copy. Its contents are undefined until written.
    /// </summary>
    public Tensor AllocateTensor(TensorElementType elementType, ReadOnlySpan<long> shape, DeviceMemory memory = DeviceMemory.Cpu)
    {
        var allocator = AllocatorEntry(memory).Allocator;
        var value = OrtNative.CreateTensor(allocator.DangerousGetHandle(), shape, elementType);
        value.KeepAlive(allocator);
        return new Tensor(value);
    }

    internal OrtMemoryInfoHandle MemoryInfo(DeviceMemory memory) => AllocatorEntry(memory).Info;

    // The session's own allocator for that memory (looked up by device), so tensors land where its provider works.
    private (OrtMemoryInfoHandle Info, OrtAllocatorHandle Allocator) AllocatorEntry(DeviceMemory memory)
    {
        var deviceId = memory is DeviceMemory.Cuda or DeviceMemory.WebGpu ? Options.DeviceId : 0;
        lock (_allocatorGate)
        {
            if (_allocators.TryGetValue((memory, deviceId), out var entry))
                return entry;
            var info = OrtNative.CreateMemoryInfo(TensorTypes.MemoryName(memory), deviceId);
            try
            {
                var allocator = OrtNative.CreateAllocator(Handle, info);
                allocator.KeepAlive(info);
                entry = (info, allocator);
            }
            catch (OnnxRuntimeException e)
            {
                info.Dispose();
                throw new OnnxRuntimeException(e.ErrorCode,
                    $"Model '{ModelPath}' on {Provider} has no allocator for {memory} memory (device {deviceId}): {e.Message}", e);
            }
            _allocators[(memory, deviceId)] = entry;
            return entry;
        }
    }

    internal Tensor[] WrapOutputs(nint[] values)
    {
        var tensors = new Tensor[values.Length];
        var wrapped = 0;
        try
        {
            for (; wrapped < values.Length; wrapped++)
            {
                var handle = OrtNative.WrapValue(values[wrapped]);
                values[wrapped] = 0;
                try
                {
                    // Outputs may live in the session's own allocator, so they keep the session alive; a session
                    // disposed while it ran cannot, and its outputs go back to ORT with it.
                    handle.KeepAlive(_handle);
                }
                catch (ObjectDisposedException)
                {
                    handle.Dispose();
                    throw new ObjectDisposedException(nameof(InferenceSession), $"The session of '{Path.GetFileName(ModelPath)}' was disposed while it ran; its outputs were released.");
                }
                tensors[wrapped] = new Tensor(handle);
            }
            return tensors;
        }
        catch
        {
            for (var i = 0; i < wrapped; i++)
                tensors[i].Dispose();
            foreach (var value in values)
                if (value != 0)
                    OrtNative.WrapValue(value).Dispose();
            throw;
        }
    }

    internal static CancellationTokenRegistration Terminate(OrtRunOptionsHandle runOptions, CancellationToken cancellationToken) =>
        cancellationToken.Register(static state => OrtNative.RunOptionsSetTerminate((OrtRunOptionsHandle)state!), runOptions);

    private void CheckInput(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        var info = Inputs.FirstOrDefault(i => i.Name == name)
            ?? throw new ArgumentException($"'{name}' is not an input of model '{ModelPath}'; its inputs are {string.Join(", ", Inputs.Select(i => i.Name))}.", nameof(name));
        if (info.ElementType != TensorElementType.Undefined && info.ElementType != tensor.ElementType)
            throw new ArgumentException($"Input '{name}' of model '{ModelPath}' takes {info.ElementType}, not {tensor.ElementType}.", nameof(name));
    }

    public override string ToString() => $"{Path.GetFileName(ModelPath)} on {Provider}";

    public void Dispose()
    {
        lock (_allocatorGate)
        {
            foreach (var (info, allocator) in _allocators.Values)
            {
                allocator.Dispose();
                info.Dispose();
            }
            _allocators.Clear();
        }
        _handle.Dispose();
    }
}
