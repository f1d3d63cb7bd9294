using System.Runtime.InteropServices;

namespace ZImage.Engine.Onnx;

/// <summary>
/// Turns "the provider failed to load" into the file that is missing. ORT's own message only names the first
/// dlopen failure, deep in a chain; the designers who read ours need to know what to install.
/// </summary>
internal static class ProviderDiagnostics
{
    // Beside libonnxruntime.so; the build copies them from NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux.
    internal static readonly string[] CudaProviderFiles = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
    internal static readonly string[] TensorRtProviderFiles = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"];

    // What libonnxruntime_providers_cuda.so of the 1.32.0 GPU build needs from the system: its DT_NEEDED entries
    // (objdump -p) plus cuDNN, which it opens at run time.
    internal static readonly string[] CudaSystemLibraries =
        ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];
    internal static readonly string[] TensorRtSystemLibraries = [.. CudaSystemLibraries, "libnvinfer.so.10", "libnvonnxparser.so.10"];

    /// <summary>True when <paramref name="provider"/>'s libraries are beside ORT and everything they need loads here.</summary>
    public static bool CanRun(ExecutionProvider provider, string ortDirectory)
    {
        var (_, providerFiles, systemLibraries) = Needs(provider);
        return providerFiles.All(f => File.Exists(Path.Combine(ortDirectory, f))) && systemLibraries.All(CanLoad);
    }

    public static string Explain(ExecutionProvider provider, string ortDirectory, string ortMessage)
    {
        var (name, providerFiles, systemLibraries) = Needs(provider);
        var missingFiles = providerFiles.Where(f => !File.Exists(Path.Combine(ortDirectory, f))).ToArray();
        var unloadable = systemLibraries.Where(l => !CanLoad(l)).ToArray();
        var parts = new List<string>();
        if (missingFiles.Length > 0)
            parts.Add($"missing {string.Join(", ", missingFiles)} in '{ortDirectory}' (dotnet build copies them from NuGet's " +
                "Microsoft.ML.OnnxRuntime.Gpu.Linux; a folder named by ZIMAGE_ORT_DIR needs them too)");
        if (unloadable.Length > 0)
            parts.Add($"cannot load {string.Join(", ", unloadable)} " +
                "(install the NVIDIA driver, the CUDA 13 runtime and cuDNN 9, or add their folder to LD_LIBRARY_PATH)");
        var cause = parts.Count > 0 ? string.Join("; ", parts) : "every needed file is present";
        return $"The {name} execution provider could not be loaded: {cause}. ONNX Runtime said: {ortMessage}";
    }

    private static (string Name, string[] ProviderFiles, string[] SystemLibraries) Needs(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => ("CUDA", CudaProviderFiles, CudaSystemLibraries),
        ExecutionProvider.TensorRT => ("TensorRT", TensorRtProviderFiles, TensorRtSystemLibraries),
        _ => ("CPU", [], []),
    };

    private static bool CanLoad(string soname)
    {
        if (!NativeLibrary.TryLoad(soname, out var handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
