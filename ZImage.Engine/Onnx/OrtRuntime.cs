using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ort = Microsoft.ML.OnnxRuntime;

namespace ZImage.Engine.Onnx;

/// <summary>
/// The loaded ONNX Runtime: one per process (the native library and its OrtEnv cannot be loaded twice), created by
/// <see cref="Load"/> and never unloaded. Thread-safe. The managed API (Microsoft.ML.OnnxRuntime) does the calling;
/// this class decides which library file it calls into and where ORT's log goes.
/// </summary>
public sealed class OrtRuntime
{
    /// <summary>The core library's file name as NuGet ships it; an official tarball's folder also has the .so.1 link.</summary>
    public const string LibraryFileName = "libonnxruntime.so";

    public const string DirectoryEnvironmentVariable = "ZIMAGE_ORT_DIR";

    // Where `dotnet build` puts the NuGet package's native files for a portable (RID-less) app; a RID-specific
    // publish puts them beside the app instead.
    private static readonly string NuGetNativeFolder = Path.Combine("runtimes", "linux-x64", "native");

    private static readonly Lock Gate = new();
    private static OrtRuntime? _instance;
    private static ILogger _logger = NullLogger.Instance;

    // Kept in a static field: ORT calls it from native threads for the life of the process.
    private static readonly Ort.DOrtLoggingFunction LogCallback = OnLog;

    private OrtRuntime(string directory, string libraryPath, Ort.OrtEnv env)
    {
        Directory = directory;
        LibraryPath = libraryPath;
        Env = env;
        Version = env.GetVersionString();
        AvailableProviders = env.GetAvailableProviders();
    }

    /// <summary>The folder the library was loaded from; the CUDA and TensorRT provider libraries are looked for beside it.</summary>
    public string Directory { get; }

    public string LibraryPath { get; }

    /// <summary>The library's own version string, e.g. "1.32.0".</summary>
    public string Version { get; }

    /// <summary>Execution providers compiled into the loaded library, e.g. CUDAExecutionProvider.
    /// Compiled in does not mean loadable: CUDA also needs its provider library and the CUDA runtime.</summary>
    public IReadOnlyList<string> AvailableProviders { get; }

    internal Ort.OrtEnv Env { get; }

    /// <summary>
    /// Where the library is looked for: <paramref name="configuredDirectory"/> (setting ZImage:Engine:OnnxRuntimeDirectory)
    /// if set, else the ZIMAGE_ORT_DIR environment variable, else where the build put the NuGet package's native files
    /// (runtimes/linux-x64/native/ beside the application, or the application's own folder after a RID-specific publish).
    /// </summary>
    public static string ResolveDirectory(string? configuredDirectory) =>
        ResolveDirectory(configuredDirectory, Environment.GetEnvironmentVariable(DirectoryEnvironmentVariable));

    internal static string ResolveDirectory(string? configuredDirectory, string? fromEnvironment)
    {
        if (!string.IsNullOrWhiteSpace(configuredDirectory))
            return Path.GetFullPath(configuredDirectory);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return Path.GetFullPath(fromEnvironment);
        var nuget = Path.Combine(AppContext.BaseDirectory, NuGetNativeFolder);
        return FindLibrary(nuget) is null && FindLibrary(AppContext.BaseDirectory) is not null
            ? Path.GetFullPath(AppContext.BaseDirectory)
            : nuget;
    }

    /// <summary>The core library in <paramref name="directory"/>: libonnxruntime.so, else libonnxruntime.so.1; null when neither exists.</summary>
    public static string? FindLibrary(string directory) =>
        new[] { LibraryFileName, LibraryFileName + ".1" }.Select(f => Path.Combine(directory, f)).FirstOrDefault(File.Exists);

    /// <summary>
    /// Loads ONNX Runtime from <see cref="ResolveDirectory"/>(<paramref name="configuredDirectory"/>) and creates the
    /// process's environment, its log routed to <paramref name="logger"/>. Later calls return the same runtime and
    /// refuse another folder.
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
                if (!string.Equals(directory, _instance.Directory, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"ONNX Runtime is already loaded from '{_instance.LibraryPath}'; one process cannot also load it from '{directory}'.");
                return _instance;
            }

            var libraryPath = FindLibrary(directory) ?? throw new OnnxRuntimeException(OrtErrorCode.NoSuchFile,
                $"ONNX Runtime was not found: '{Path.Combine(directory, LibraryFileName)}' does not exist. Build the solution " +
                "(dotnet build restores it from NuGet into runtimes/linux-x64/native/), or point ZImage:Engine:OnnxRuntimeDirectory " +
                $"or {DirectoryEnvironmentVariable} at a folder that holds {LibraryFileName}.");
            nint library;
            try
            {
                library = NativeLibrary.Load(libraryPath);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                throw new OnnxRuntimeException(OrtErrorCode.Fail,
                    $"ONNX Runtime in folder '{directory}' could not be loaded from file '{libraryPath}': {e.Message}", e);
            }

            // The managed API would otherwise resolve "onnxruntime" itself; this must happen before its first use.
            Ort.OrtEnv.DisableDllImportResolver = true;
            NativeLibrary.SetDllImportResolver(typeof(Ort.OrtEnv).Assembly,
                (name, _, _) => name is "onnxruntime" or "libonnxruntime" ? library : IntPtr.Zero);

            Ort.OrtEnv env;
            try
            {
                var options = new Ort.EnvironmentCreationOptions
                {
                    logId = "ZImage",
                    logLevel = Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                    loggingFunction = LogCallback,
                };
                env = Ort.OrtEnv.CreateInstanceWithOptions(ref options);
                env.DisableTelemetryEvents();
            }
            catch (Exception e) when (e is Ort.OnnxRuntimeException or TypeInitializationException or EntryPointNotFoundException)
            {
                throw new OnnxRuntimeException(OrtErrorCode.Fail,
                    $"'{libraryPath}' could not be started as ONNX Runtime {ManagedVersion} (the managed API needs a library of that version): {e.Message}", e);
            }

            _instance = new OrtRuntime(directory, libraryPath, env);
            _logger.LogInformation("ONNX Runtime {Version} loaded from {Path}; providers: {Providers}",
                _instance.Version, _instance.LibraryPath, string.Join(", ", _instance.AvailableProviders));
            return _instance;
        }
    }

    /// <summary>The version of the managed API the engine was built against, e.g. "1.32.0".</summary>
    public static string ManagedVersion =>
        typeof(Ort.OrtEnv).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(Ort.OrtEnv).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>Opens a model file; external data files are found relative to the model's folder.</summary>
    public InferenceSession OpenSession(string modelPath, InferenceSessionOptions? options = null) =>
        InferenceSession.Open(this, modelPath, options ?? new InferenceSessionOptions());

    // ORT may call this from any thread; an exception must never unwind into native code.
    private static void OnLog(nint param, Ort.OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        try
        {
            var level = severity switch
            {
                Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE => LogLevel.Trace,
                Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO => LogLevel.Debug,
                Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING => LogLevel.Warning,
                Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR => LogLevel.Error,
                _ => LogLevel.Critical,
            };
            var logger = _logger;
            if (logger.IsEnabled(level))
                logger.Log(level, "[ORT {Category}] {Message} ({CodeLocation})", category, message, codeLocation);
        }
        catch
        {
            // A lost log line is the lesser harm.
        }
    }
}
