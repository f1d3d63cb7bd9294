using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ZImage.Engine.Onnx;

/// <summary>
/// The loaded ONNX Runtime: one per process (the native library and its OrtEnv cannot be loaded twice), created by
/// <see cref="Load"/> and never unloaded. Thread-safe.
/// </summary>
public sealed class OrtRuntime
{
    public const string LibraryFileName = "libonnxruntime.so.1";
    public const string DirectoryEnvironmentVariable = "ZIMAGE_ORT_DIR";

    private static readonly Lock Gate = new();
    private static OrtRuntime? _instance;
    private static ILogger _logger = NullLogger.Instance;
    private static OrtMemoryInfoHandle? _cpuMemoryInfo;

    private readonly OrtEnvHandle _env;

    private OrtRuntime(string directory, OrtEnvHandle env)
    {
        Directory = directory;
        _env = env;
        Version = OrtNative.Version;
        BuildInfo = OrtNative.GetBuildInfoString();
        AvailableProviders = OrtNative.GetAvailableProviders();
    }

    /// <summary>The folder the library was loaded from.</summary>
    public string Directory { get; }

    public string LibraryPath => OrtNative.LibraryPath;

    /// <summary>The library's own version string, e.g. "1.29.0".</summary>
    public string Version { get; }

    public string BuildInfo { get; }

    /// <summary>Execution providers compiled into the loaded library (GetAvailableProviders), e.g. CUDAExecutionProvider.
    /// Compiled in does not mean loadable: CUDA also needs its provider library and the CUDA runtime.</summary>
    public IReadOnlyList<string> AvailableProviders { get; }

    internal OrtEnvHandle Env => _env;

    internal static OrtMemoryInfoHandle CpuMemoryInfo =>
        _cpuMemoryInfo ?? throw new InvalidOperationException("ONNX Runtime has not been loaded yet: call OrtRuntime.Load first.");

    /// <summary>
    /// Where the library is looked for: <paramref name="configuredDirectory"/> (setting ZImage:Engine:OnnxRuntimeDirectory)
    /// if set, else the ZIMAGE_ORT_DIR environment variable, else native/ beside the application.
    /// </summary>
    public static string ResolveDirectory(string? configuredDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configuredDirectory))
            return Path.GetFullPath(configuredDirectory);
        var fromEnvironment = Environment.GetEnvironmentVariable(DirectoryEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return Path.GetFullPath(fromEnvironment);
        return Path.Combine(AppContext.BaseDirectory, "native");
    }

    /// <summary>
    /// Loads ONNX Runtime from <see cref="ResolveDirectory"/>(<paramref name="configuredDirectory"/>) and creates the
    /// process's environment, its log routed to <paramref name="logger"/>. Later calls return the same runtime.
    /// </summary>
    public static OrtRuntime Load(string? configuredDirectory = null, ILogger? logger = null)
    {
        lock (Gate)
        {
            if (logger is not null)
                _logger = logger;
            var directory = ResolveDirectory(configuredDirectory);
            if (_instance is not null)
            {
                OrtNative.Load(directory); // throws when another folder is asked for
                return _instance;
            }

            OrtNative.Load(directory);
            OrtEnvHandle env;
            unsafe
            {
                env = OrtNative.CreateEnvWithCustomLogger(&OnLog, (int)OrtLogSeverity.Warning, "ZImage");
            }
            OrtNative.DisableTelemetryEvents(env);
            _cpuMemoryInfo = OrtNative.CreateCpuMemoryInfo();
            _instance = new OrtRuntime(directory, env);
            _logger.LogInformation("ONNX Runtime {Version} loaded from {Path}; providers: {Providers}",
                _instance.Version, _instance.LibraryPath, string.Join(", ", _instance.AvailableProviders));
            return _instance;
        }
    }

    /// <summary>Opens a model file; external data files are found relative to the model's folder.</summary>
    public InferenceSession OpenSession(string modelPath, InferenceSessionOptions? options = null) =>
        InferenceSession.Open(this, modelPath, options ?? new InferenceSessionOptions());

    private enum OrtLogSeverity
    {
        Verbose = 0,
        Info = 1,
        Warning = 2,
        Error = 3,
        Fatal = 4,
    }

    // A static function with UnmanagedCallersOnly needs no delegate kept alive; ORT may call it from any thread.
    [UnmanagedCallersOnly]
    private static unsafe void OnLog(nint param, int severity, byte* category, byte* logId, byte* codeLocation, byte* message)
    {
        try
        {
            var level = (OrtLogSeverity)severity switch
            {
                OrtLogSeverity.Verbose => LogLevel.Trace,
                OrtLogSeverity.Info => LogLevel.Debug,
                OrtLogSeverity.Warning => LogLevel.Warning,
                OrtLogSeverity.Error => LogLevel.Error,
                _ => LogLevel.Critical,
            };
            var logger = _logger;
            if (!logger.IsEnabled(level))
                return;
            logger.Log(level, "[ORT {Category}] {Message} ({CodeLocation})",
                Marshal.PtrToStringUTF8((nint)category), Marshal.PtrToStringUTF8((nint)message), Marshal.PtrToStringUTF8((nint)codeLocation));
        }
        catch
        {
            // An exception must never unwind into native code; a lost log line is the lesser harm.
        }
    }
}
