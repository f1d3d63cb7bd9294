using System.Runtime.InteropServices;
using System.Text;

namespace ZImage.Engine.Onnx;

/// <summary>
/// The one door to the ORT C API: loads libonnxruntime.so.1 once per process, reads the OrtApi table and calls it
/// by slot (<see cref="OrtApiOrdinals"/>). Every returned <c>OrtStatus*</c> goes through <see cref="Check"/>.
/// </summary>
internal static unsafe class OrtNative
{
    private static readonly Lock LoadLock = new();
    private static nint* _api;
    private static string? _libraryPath;
    private static string? _version;

    public static bool IsLoaded => _api != null;

    public static string LibraryPath => _libraryPath ?? throw NotLoaded();

    public static string Version => _version ?? throw NotLoaded();

    /// <summary>Loads the library from <paramref name="directory"/>; later calls must name the same file.</summary>
    public static void Load(string directory)
    {
        var path = Path.GetFullPath(Path.Combine(directory, OrtRuntime.LibraryFileName));
        lock (LoadLock)
        {
            if (_api != null)
            {
                if (!string.Equals(path, _libraryPath, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"ONNX Runtime is already loaded from '{_libraryPath}'; one process cannot also load '{path}'.");
                return;
            }

            if (!File.Exists(path))
                throw new OnnxRuntimeException(OrtErrorCode.NoSuchFile,
                    $"ONNX Runtime was not found: '{path}' does not exist. Build the solution (it fetches ONNX Runtime 1.29.0 into native/), " +
                    "or point ZImage:Engine:OnnxRuntimeDirectory or ZIMAGE_ORT_DIR at a folder that holds " + OrtRuntime.LibraryFileName + ".");

            nint library;
            try
            {
                library = NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                throw new OnnxRuntimeException(OrtErrorCode.Fail,
                    $"ONNX Runtime in folder '{directory}' could not be loaded from file '{path}': {e.Message}", e);
            }

            if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBase))
                throw new OnnxRuntimeException(OrtErrorCode.Fail, $"'{path}' is not ONNX Runtime: it exports no OrtGetApiBase.");

            var apiBase = ((delegate* unmanaged<nint*>)getApiBase)();
            var version = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)apiBase[OrtApiOrdinals.BaseGetVersionString])()) ?? "";
            var api = ((delegate* unmanaged<uint, nint*>)apiBase[OrtApiOrdinals.BaseGetApi])(OrtApiOrdinals.ApiVersion);
            if (api == null)
                throw new OnnxRuntimeException(OrtErrorCode.Fail,
                    $"'{path}' is ONNX Runtime {version}, which does not offer C API version {OrtApiOrdinals.ApiVersion}: ZImage needs ONNX Runtime 1.29.0 or newer.");

            _version = version;
            _libraryPath = path;
            _api = api;
        }
    }

    /// <summary>Asks the loaded library for an arbitrary API version: null when it does not offer it.</summary>
    public static bool OffersApiVersion(uint version)
    {
        var library = NativeLibrary.Load(LibraryPath);
        var apiBase = ((delegate* unmanaged<nint*>)NativeLibrary.GetExport(library, "OrtGetApiBase"))();
        return ((delegate* unmanaged<uint, nint*>)apiBase[OrtApiOrdinals.BaseGetApi])(version) != null;
    }

    public static nint Slot(int ordinal)
    {
        if (_api == null)
            throw NotLoaded();
        return _api[ordinal];
    }

    private static InvalidOperationException NotLoaded() =>
        new("ONNX Runtime has not been loaded yet: call OrtRuntime.Load first.");

    // ---- status -------------------------------------------------------------------------------------------------

    /// <summary>Throws <see cref="OnnxRuntimeException"/> for a non-null status, releasing it first.</summary>
    public static void Check(nint status, string? context = null)
    {
        if (status == 0)
            return;
        var code = (OrtErrorCode)((delegate* unmanaged<nint, int>)Slot(OrtApiOrdinals.GetErrorCode))(status);
        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Slot(OrtApiOrdinals.GetErrorMessage))(status)) ?? "";
        ((delegate* unmanaged<nint, void>)Slot(OrtApiOrdinals.ReleaseStatus))(status);
        throw new OnnxRuntimeException(code, context is null ? message : $"{context}: {message}");
    }

    /// <summary>Builds a status the way ORT does; only used to prove the status slots against the real library.</summary>
    public static nint CreateStatus(OrtErrorCode code, string message)
    {
        using var text = new Utf8(message);
        return ((delegate* unmanaged<int, byte*, nint>)Slot(OrtApiOrdinals.CreateStatus))((int)code, text.Pointer);
    }

    // ---- environment --------------------------------------------------------------------------------------------

    public static OrtEnvHandle CreateEnvWithCustomLogger(delegate* unmanaged<nint, int, byte*, byte*, byte*, byte*, void> logger,
        int severity, string logId)
    {
        var env = new OrtEnvHandle();
        using var id = new Utf8(logId);
        nint raw;
        Check(((delegate* unmanaged<void*, nint, int, byte*, nint*, nint>)Slot(OrtApiOrdinals.CreateEnvWithCustomLogger))(
            logger, 0, severity, id.Pointer, &raw));
        OrtHandle.Adopt(env, raw);
        return env;
    }

    public static void DisableTelemetryEvents(OrtEnvHandle env) =>
        Check(((delegate* unmanaged<nint, nint>)Slot(OrtApiOrdinals.DisableTelemetryEvents))(env.DangerousGetHandle()));

    public static string GetBuildInfoString() =>
        Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)Slot(OrtApiOrdinals.GetBuildInfoString))()) ?? "";

    public static string[] GetAvailableProviders()
    {
        byte** names;
        int count;
        Check(((delegate* unmanaged<byte***, int*, nint>)Slot(OrtApiOrdinals.GetAvailableProviders))(&names, &count));
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++)
                result[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? "";
            return result;
        }
        finally
        {
            Check(((delegate* unmanaged<byte**, int, nint>)Slot(OrtApiOrdinals.ReleaseAvailableProviders))(names, count));
        }
    }

    // ---- session options ----------------------------------------------------------------------------------------

    public static OrtSessionOptionsHandle CreateSessionOptions()
    {
        var options = new OrtSessionOptionsHandle();
        nint raw;
        Check(((delegate* unmanaged<nint*, nint>)Slot(OrtApiOrdinals.CreateSessionOptions))(&raw));
        OrtHandle.Adopt(options, raw);
        return options;
    }

    public static void SetSessionGraphOptimizationLevel(OrtSessionOptionsHandle options, int level) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(OrtApiOrdinals.SetSessionGraphOptimizationLevel))(options.DangerousGetHandle(), level));

    public static void SetIntraOpNumThreads(OrtSessionOptionsHandle options, int threads) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(OrtApiOrdinals.SetIntraOpNumThreads))(options.DangerousGetHandle(), threads));

    public static void AddFreeDimensionOverrideByName(OrtSessionOptionsHandle options, string name, long value)
    {
        using var text = new Utf8(name);
        Check(((delegate* unmanaged<nint, byte*, long, nint>)Slot(OrtApiOrdinals.AddFreeDimensionOverrideByName))(
            options.DangerousGetHandle(), text.Pointer, value), $"Free dimension override '{name}'");
    }

    public static void AddSessionConfigEntry(OrtSessionOptionsHandle options, string key, string value)
    {
        using var k = new Utf8(key);
        using var v = new Utf8(value);
        Check(((delegate* unmanaged<nint, byte*, byte*, nint>)Slot(OrtApiOrdinals.AddSessionConfigEntry))(
            options.DangerousGetHandle(), k.Pointer, v.Pointer), $"Session config entry '{key}'");
    }

    public static void AppendCuda(OrtSessionOptionsHandle options, IReadOnlyDictionary<string, string> settings)
    {
        using var cuda = new OrtCudaProviderOptionsHandle();
        nint raw;
        Check(((delegate* unmanaged<nint*, nint>)Slot(OrtApiOrdinals.CreateCUDAProviderOptions))(&raw));
        OrtHandle.Adopt(cuda, raw);
        // ORT parses the options inside the provider library, so Update already needs it loaded; with none, skip it.
        if (settings.Count > 0)
            using (var pairs = new Utf8Pairs(settings))
                Check(((delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Slot(OrtApiOrdinals.UpdateCUDAProviderOptions))(
                raw, pairs.Keys, pairs.Values, (nuint)pairs.Count), "CUDA provider options");
        Check(((delegate* unmanaged<nint, nint, nint>)Slot(OrtApiOrdinals.SessionOptionsAppendExecutionProvider_CUDA_V2))(
            options.DangerousGetHandle(), raw));
    }

    public static void AppendTensorRt(OrtSessionOptionsHandle options, IReadOnlyDictionary<string, string> settings)
    {
        using var trt = new OrtTensorRtProviderOptionsHandle();
        nint raw;
        Check(((delegate* unmanaged<nint*, nint>)Slot(OrtApiOrdinals.CreateTensorRTProviderOptions))(&raw));
        OrtHandle.Adopt(trt, raw);
        // ORT parses the options inside the provider library, so Update already needs it loaded; with none, skip it.
        if (settings.Count > 0)
            using (var pairs = new Utf8Pairs(settings))
                Check(((delegate* unmanaged<nint, byte**, byte**, nuint, nint>)Slot(OrtApiOrdinals.UpdateTensorRTProviderOptions))(
                raw, pairs.Keys, pairs.Values, (nuint)pairs.Count), "TensorRT provider options");
        Check(((delegate* unmanaged<nint, nint, nint>)Slot(OrtApiOrdinals.SessionOptionsAppendExecutionProvider_TensorRT_V2))(
            options.DangerousGetHandle(), raw));
    }

    public static void AppendExecutionProvider(OrtSessionOptionsHandle options, string name, IReadOnlyDictionary<string, string> settings)
    {
        using var providerName = new Utf8(name);
        using var pairs = new Utf8Pairs(settings);
        Check(((delegate* unmanaged<nint, byte*, byte**, byte**, nuint, nint>)Slot(OrtApiOrdinals.SessionOptionsAppendExecutionProvider))(
            options.DangerousGetHandle(), providerName.Pointer, pairs.Keys, pairs.Values, (nuint)pairs.Count));
    }

    // ---- session ------------------------------------------------------------------------------------------------

    public static OrtSessionHandle CreateSession(OrtEnvHandle env, string modelPath, OrtSessionOptionsHandle options)
    {
        var session = new OrtSessionHandle();
        using var path = new Utf8(modelPath);
        nint raw;
        Check(((delegate* unmanaged<nint, byte*, nint, nint*, nint>)Slot(OrtApiOrdinals.CreateSession))(
            env.DangerousGetHandle(), path.Pointer, options.DangerousGetHandle(), &raw), $"Model file '{modelPath}'");
        OrtHandle.Adopt(session, raw);
        GC.KeepAlive(env);
        GC.KeepAlive(options);
        return session;
    }

    public static int SessionGetCount(OrtSessionHandle session, bool inputs)
    {
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(inputs ? OrtApiOrdinals.SessionGetInputCount : OrtApiOrdinals.SessionGetOutputCount))(
            session.DangerousGetHandle(), &count));
        return checked((int)count);
    }

    public static string SessionGetName(OrtSessionHandle session, bool input, int index)
    {
        var allocator = DefaultAllocator();
        byte* name;
        Check(((delegate* unmanaged<nint, nuint, nint, byte**, nint>)Slot(input ? OrtApiOrdinals.SessionGetInputName : OrtApiOrdinals.SessionGetOutputName))(
            session.DangerousGetHandle(), (nuint)index, allocator, &name));
        try
        {
            return Marshal.PtrToStringUTF8((nint)name) ?? "";
        }
        finally
        {
            AllocatorFree(allocator, name);
        }
    }

    public static TensorInfo SessionGetTensorInfo(OrtSessionHandle session, bool input, int index, string name)
    {
        using var typeInfo = new OrtTypeInfoHandle();
        nint raw;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Slot(input ? OrtApiOrdinals.SessionGetInputTypeInfo : OrtApiOrdinals.SessionGetOutputTypeInfo))(
            session.DangerousGetHandle(), (nuint)index, &raw));
        OrtHandle.Adopt(typeInfo, raw);

        int onnxType;
        Check(((delegate* unmanaged<nint, int*, nint>)Slot(OrtApiOrdinals.GetOnnxTypeFromTypeInfo))(raw, &onnxType));
        nint tensorInfo;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(OrtApiOrdinals.CastTypeInfoToTensorInfo))(raw, &tensorInfo));
        if (onnxType != OnnxTypeTensor || tensorInfo == 0)
            return new TensorInfo(name, TensorElementType.Undefined, [], []);
        // tensorInfo points into typeInfo and is not released separately.
        var (elementType, shape, symbols) = ReadTypeAndShape(tensorInfo);
        return new TensorInfo(name, elementType, shape, symbols);
    }

    private const int OnnxTypeTensor = 1;

    private static (TensorElementType Type, long[] Shape, string?[] Symbols) ReadTypeAndShape(nint info)
    {
        int elementType;
        Check(((delegate* unmanaged<nint, int*, nint>)Slot(OrtApiOrdinals.GetTensorElementType))(info, &elementType));
        nuint rank;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(OrtApiOrdinals.GetDimensionsCount))(info, &rank));
        var shape = new long[(int)rank];
        var symbols = new string?[(int)rank];
        if (rank > 0)
        {
            fixed (long* dims = shape)
                Check(((delegate* unmanaged<nint, long*, nuint, nint>)Slot(OrtApiOrdinals.GetDimensions))(info, dims, rank));
            var names = stackalloc byte*[(int)rank];
            Check(((delegate* unmanaged<nint, byte**, nuint, nint>)Slot(OrtApiOrdinals.GetSymbolicDimensions))(info, names, rank));
            for (var i = 0; i < (int)rank; i++)
            {
                var symbol = names[i] == null ? null : Marshal.PtrToStringUTF8((nint)names[i]);
                symbols[i] = string.IsNullOrEmpty(symbol) ? null : symbol;
            }
        }
        return ((TensorElementType)elementType, shape, symbols);
    }

    // ---- run ----------------------------------------------------------------------------------------------------

    public static OrtRunOptionsHandle CreateRunOptions()
    {
        var options = new OrtRunOptionsHandle();
        nint raw;
        Check(((delegate* unmanaged<nint*, nint>)Slot(OrtApiOrdinals.CreateRunOptions))(&raw));
        OrtHandle.Adopt(options, raw);
        return options;
    }

    public static void AddRunConfigEntry(OrtRunOptionsHandle options, string key, string value)
    {
        using var k = new Utf8(key);
        using var v = new Utf8(value);
        Check(((delegate* unmanaged<nint, byte*, byte*, nint>)Slot(OrtApiOrdinals.AddRunConfigEntry))(
            options.DangerousGetHandle(), k.Pointer, v.Pointer), $"Run config entry '{key}'");
    }

    /// <summary>Run options carrying <paramref name="entries"/> (onnxruntime_run_options_config_keys.h).</summary>
    public static OrtRunOptionsHandle CreateRunOptions(IReadOnlyDictionary<string, string>? entries)
    {
        var options = CreateRunOptions();
        try
        {
            if (entries is not null)
                foreach (var (key, value) in entries)
                    AddRunConfigEntry(options, key, value);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    public static void RunOptionsSetTerminate(OrtRunOptionsHandle options) =>
        Check(((delegate* unmanaged<nint, nint>)Slot(OrtApiOrdinals.RunOptionsSetTerminate))(options.DangerousGetHandle()));

    public static void Run(OrtSessionHandle session, OrtRunOptionsHandle runOptions, ReadOnlySpan<string> inputNames,
        ReadOnlySpan<nint> inputs, ReadOnlySpan<string> outputNames, Span<nint> outputs)
    {
        using var inNames = new Utf8Array(inputNames);
        using var outNames = new Utf8Array(outputNames);
        // Held for the whole call: a Dispose on another thread (a model switch in Settings) then only marks the
        // session, and ORT's Release runs after this Run returns instead of under it.
        using var hold = new HandleHold(session);
        fixed (nint* inputValues = inputs)
        fixed (nint* outputValues = outputs)
            Check(((delegate* unmanaged<nint, nint, byte**, nint*, nuint, byte**, nuint, nint*, nint>)Slot(OrtApiOrdinals.Run))(
                session.DangerousGetHandle(), runOptions.DangerousGetHandle(), inNames.Pointers, inputValues, (nuint)inputs.Length,
                outNames.Pointers, (nuint)outputNames.Length, outputValues));
    }

    /// <summary>A SafeHandle reference held across a native call, so the object cannot be released during it.</summary>
    private readonly ref struct HandleHold
    {
        private readonly SafeHandle _handle;

        public HandleHold(SafeHandle handle)
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            _handle = handle;
        }

        public void Dispose() => _handle.DangerousRelease();
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    private const int OrtDeviceAllocator = 0;
    private const int OrtArenaAllocator = 1;
    private const int OrtMemTypeDefault = 0;

    public static OrtMemoryInfoHandle CreateCpuMemoryInfo()
    {
        var info = new OrtMemoryInfoHandle();
        nint raw;
        Check(((delegate* unmanaged<int, int, nint*, nint>)Slot(OrtApiOrdinals.CreateCpuMemoryInfo))(OrtArenaAllocator, OrtMemTypeDefault, &raw));
        OrtHandle.Adopt(info, raw);
        return info;
    }

    public static OrtMemoryInfoHandle CreateMemoryInfo(string name, int deviceId)
    {
        var info = new OrtMemoryInfoHandle();
        using var text = new Utf8(name);
        nint raw;
        Check(((delegate* unmanaged<byte*, int, int, int, nint*, nint>)Slot(OrtApiOrdinals.CreateMemoryInfo))(
            text.Pointer, OrtDeviceAllocator, deviceId, OrtMemTypeDefault, &raw), $"Memory info '{name}' device {deviceId}");
        OrtHandle.Adopt(info, raw);
        return info;
    }

    public static (string Name, int DeviceId) ReadMemoryInfo(nint info)
    {
        byte* name;
        Check(((delegate* unmanaged<nint, byte**, nint>)Slot(OrtApiOrdinals.MemoryInfoGetName))(info, &name));
        int id;
        Check(((delegate* unmanaged<nint, int*, nint>)Slot(OrtApiOrdinals.MemoryInfoGetId))(info, &id));
        return (Marshal.PtrToStringUTF8((nint)name) ?? "", id);
    }

    public static OrtAllocatorHandle CreateAllocator(OrtSessionHandle session, OrtMemoryInfoHandle memoryInfo)
    {
        var allocator = new OrtAllocatorHandle();
        nint raw;
        Check(((delegate* unmanaged<nint, nint, nint*, nint>)Slot(OrtApiOrdinals.CreateAllocator))(
            session.DangerousGetHandle(), memoryInfo.DangerousGetHandle(), &raw));
        OrtHandle.Adopt(allocator, raw);
        allocator.KeepAlive(session);
        return allocator;
    }

    /// <summary>ORT's process-wide CPU allocator: owned by ORT, never released.</summary>
    public static nint DefaultAllocator()
    {
        nint allocator;
        Check(((delegate* unmanaged<nint*, nint>)Slot(OrtApiOrdinals.GetAllocatorWithDefaultOptions))(&allocator));
        return allocator;
    }

    public static void AllocatorFree(nint allocator, void* pointer) =>
        Check(((delegate* unmanaged<nint, void*, nint>)Slot(OrtApiOrdinals.AllocatorFree))(allocator, pointer));

    // ---- values -------------------------------------------------------------------------------------------------

    public static OrtValueHandle CreateTensorWithData(OrtMemoryInfoHandle memoryInfo, void* data, nuint byteLength,
        ReadOnlySpan<long> shape, TensorElementType type)
    {
        var value = new OrtValueHandle();
        nint raw;
        fixed (long* dims = shape)
            Check(((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Slot(OrtApiOrdinals.CreateTensorWithDataAsOrtValue))(
                memoryInfo.DangerousGetHandle(), data, byteLength, dims, (nuint)shape.Length, (int)type, &raw));
        OrtHandle.Adopt(value, raw);
        return value;
    }

    public static OrtValueHandle CreateTensor(nint allocator, ReadOnlySpan<long> shape, TensorElementType type)
    {
        var value = new OrtValueHandle();
        nint raw;
        fixed (long* dims = shape)
            Check(((delegate* unmanaged<nint, long*, nuint, int, nint*, nint>)Slot(OrtApiOrdinals.CreateTensorAsOrtValue))(
                allocator, dims, (nuint)shape.Length, (int)type, &raw));
        OrtHandle.Adopt(value, raw);
        return value;
    }

    public static OrtValueHandle WrapValue(nint raw)
    {
        var value = new OrtValueHandle();
        OrtHandle.Adopt(value, raw);
        return value;
    }

    public static bool IsTensor(nint value)
    {
        int result;
        Check(((delegate* unmanaged<nint, int*, nint>)Slot(OrtApiOrdinals.IsTensor))(value, &result));
        return result != 0;
    }

    public static void* GetTensorMutableData(nint value)
    {
        void* data;
        Check(((delegate* unmanaged<nint, void**, nint>)Slot(OrtApiOrdinals.GetTensorMutableData))(value, &data));
        return data;
    }

    public static (TensorElementType Type, long[] Shape, long ElementCount) GetTensorTypeAndShape(nint value)
    {
        using var info = new OrtTensorTypeAndShapeInfoHandle();
        nint raw;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(OrtApiOrdinals.GetTensorTypeAndShape))(value, &raw));
        OrtHandle.Adopt(info, raw);
        var (type, shape, _) = ReadTypeAndShape(raw);
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(OrtApiOrdinals.GetTensorShapeElementCount))(raw, &count));
        return (type, shape, (long)count);
    }

    public static long GetTensorSizeInBytes(nint value)
    {
        nuint size;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(OrtApiOrdinals.GetTensorSizeInBytes))(value, &size));
        return (long)size;
    }

    /// <summary>The memory info of a tensor: borrowed from the value, not to be released.</summary>
    public static (string Name, int DeviceId) GetTensorMemoryInfo(nint value)
    {
        nint info;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(OrtApiOrdinals.GetTensorMemoryInfo))(value, &info));
        return ReadMemoryInfo(info);
    }

    // ---- IO binding ---------------------------------------------------------------------------------------------

    public static OrtIoBindingHandle CreateIoBinding(OrtSessionHandle session)
    {
        var binding = new OrtIoBindingHandle();
        nint raw;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(OrtApiOrdinals.CreateIoBinding))(session.DangerousGetHandle(), &raw));
        OrtHandle.Adopt(binding, raw);
        binding.KeepAlive(session);
        return binding;
    }

    public static void BindInput(OrtIoBindingHandle binding, string name, OrtValueHandle value)
    {
        using var text = new Utf8(name);
        Check(((delegate* unmanaged<nint, byte*, nint, nint>)Slot(OrtApiOrdinals.BindInput))(
            binding.DangerousGetHandle(), text.Pointer, value.DangerousGetHandle()), $"Binding input '{name}'");
    }

    public static void BindOutput(OrtIoBindingHandle binding, string name, OrtValueHandle value)
    {
        using var text = new Utf8(name);
        Check(((delegate* unmanaged<nint, byte*, nint, nint>)Slot(OrtApiOrdinals.BindOutput))(
            binding.DangerousGetHandle(), text.Pointer, value.DangerousGetHandle()), $"Binding output '{name}'");
    }

    public static void BindOutputToDevice(OrtIoBindingHandle binding, string name, OrtMemoryInfoHandle memoryInfo)
    {
        using var text = new Utf8(name);
        Check(((delegate* unmanaged<nint, byte*, nint, nint>)Slot(OrtApiOrdinals.BindOutputToDevice))(
            binding.DangerousGetHandle(), text.Pointer, memoryInfo.DangerousGetHandle()), $"Binding output '{name}' to a device");
    }

    public static void IoBindingCall(int ordinal, OrtIoBindingHandle binding) =>
        Check(((delegate* unmanaged<nint, nint>)Slot(ordinal))(binding.DangerousGetHandle()));

    public static void IoBindingClear(int ordinal, OrtIoBindingHandle binding) =>
        ((delegate* unmanaged<nint, void>)Slot(ordinal))(binding.DangerousGetHandle());

    public static void RunWithBinding(OrtSessionHandle session, OrtRunOptionsHandle runOptions, OrtIoBindingHandle binding)
    {
        using var hold = new HandleHold(session);
        Check(((delegate* unmanaged<nint, nint, nint, nint>)Slot(OrtApiOrdinals.RunWithBinding))(
            session.DangerousGetHandle(), runOptions.DangerousGetHandle(), binding.DangerousGetHandle()));
    }

    public static string[] GetBoundOutputNames(OrtIoBindingHandle binding)
    {
        var allocator = DefaultAllocator();
        byte* buffer;
        nuint* lengths;
        nuint count;
        Check(((delegate* unmanaged<nint, nint, byte**, nuint**, nuint*, nint>)Slot(OrtApiOrdinals.GetBoundOutputNames))(
            binding.DangerousGetHandle(), allocator, &buffer, &lengths, &count));
        if (count == 0)
            return [];
        try
        {
            // One buffer holds the names back to back, without terminators; lengths[i] says where each ends.
            var names = new string[(int)count];
            var offset = 0;
            for (var i = 0; i < (int)count; i++)
            {
                names[i] = Encoding.UTF8.GetString(buffer + offset, (int)lengths[i]);
                offset += (int)lengths[i];
            }
            return names;
        }
        finally
        {
            AllocatorFree(allocator, buffer);
            AllocatorFree(allocator, lengths);
        }
    }

    public static nint[] GetBoundOutputValues(OrtIoBindingHandle binding)
    {
        var allocator = DefaultAllocator();
        nint* values;
        nuint count;
        Check(((delegate* unmanaged<nint, nint, nint**, nuint*, nint>)Slot(OrtApiOrdinals.GetBoundOutputValues))(
            binding.DangerousGetHandle(), allocator, &values, &count));
        if (count == 0)
            return [];
        try
        {
            return new ReadOnlySpan<nint>(values, (int)count).ToArray();
        }
        finally
        {
            AllocatorFree(allocator, values);
        }
    }

    // ---- UTF-8 marshalling --------------------------------------------------------------------------------------

    /// <summary>A NUL-terminated UTF-8 copy of a string in unmanaged memory, freed on dispose.</summary>
    internal readonly struct Utf8 : IDisposable
    {
        public Utf8(string text) => Pointer = (byte*)Marshal.StringToCoTaskMemUTF8(text);

        public byte* Pointer { get; }

        public void Dispose() => Marshal.FreeCoTaskMem((nint)Pointer);
    }

    /// <summary>An unmanaged array of NUL-terminated UTF-8 strings, freed on dispose.</summary>
    internal readonly struct Utf8Array : IDisposable
    {
        private readonly int _count;

        public Utf8Array(ReadOnlySpan<string> texts)
        {
            _count = texts.Length;
            Pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(1, texts.Length), (nuint)sizeof(nint));
            for (var i = 0; i < texts.Length; i++)
                Pointers[i] = (byte*)Marshal.StringToCoTaskMemUTF8(texts[i]);
        }

        public byte** Pointers { get; }

        public void Dispose()
        {
            for (var i = 0; i < _count; i++)
                Marshal.FreeCoTaskMem((nint)Pointers[i]);
            NativeMemory.Free(Pointers);
        }
    }

    internal readonly struct Utf8Pairs : IDisposable
    {
        private readonly Utf8Array _keys;
        private readonly Utf8Array _values;

        public Utf8Pairs(IReadOnlyDictionary<string, string> pairs)
        {
            var entries = pairs.ToArray();
            _keys = new Utf8Array(entries.Select(e => e.Key).ToArray());
            _values = new Utf8Array(entries.Select(e => e.Value).ToArray());
            Count = pairs.Count;
        }

        public byte** Keys => _keys.Pointers;

        public byte** Values => _values.Pointers;

        public int Count { get; }

        public void Dispose()
        {
            _keys.Dispose();
            _values.Dispose();
        }
    }
}
