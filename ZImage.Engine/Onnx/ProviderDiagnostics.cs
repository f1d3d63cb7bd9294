using System.Runtime.InteropServices;

namespace ZImage.Engine.Onnx;

/// <summary>
/// Turns "the provider failed to load" into the file that is missing. ORT's own message only names the first
/// dlopen failure, deep in a chain; the designers who read ours need to know what to install.
/// </summary>
internal static class ProviderDiagnostics
{
    // Beside libonnxruntime.so.1; installed by tools/install-cuda-provider.sh.
    internal static readonly string[] CudaProviderFiles = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
    internal static readonly string[] TensorRtProviderFiles = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"];

    // What libonnxruntime_providers_cuda.so of the 1.29.0 GPU build needs from the system: its DT_NEEDED entries
    // (objdump -p) plus cuDNN, which it opens at run time.
    internal static readonly string[] CudaSystemLibraries =
        ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];
    internal static readonly string[] TensorRtSystemLibraries = [.. CudaSystemLibraries, "libnvinfer.so.10", "libnvonnxparser.so.10"];
    internal static readonly string[] WebGpuSystemLibraries = ["libvulkan.so.1"];

    public static string Explain(ExecutionProvider provider, string ortDirectory, string ortMessage)
    {
        var (name, providerFiles, systemLibraries) = provider switch
        {
            ExecutionProvider.Cuda => ("CUDA", CudaProviderFiles, CudaSystemLibraries),
            ExecutionProvider.TensorRT => ("TensorRT", TensorRtProviderFiles, TensorRtSystemLibraries),
            ExecutionProvider.WebGpu => ("WebGPU", [], WebGpuSystemLibraries),
            _ => ("CPU", Array.Empty<string>(), Array.Empty<string>()),
        };

        var missingFiles = providerFiles.Where(f => !File.Exists(Path.Combine(ortDirectory, f))).ToArray();
        var unloadable = systemLibraries.Where(l => !CanLoad(l)).ToArray();
        var parts = new List<string>();
        if (missingFiles.Length > 0)
            parts.Add($"missing {string.Join(", ", missingFiles)} in '{ortDirectory}' (install with tools/install-cuda-provider.sh '{ortDirectory}')");
        if (unloadable.Length > 0)
            parts.Add($"cannot load {string.Join(", ", unloadable)} " + (provider == ExecutionProvider.WebGpu
                ? "(install the Vulkan loader and the GPU driver)"
                : "(install the NVIDIA driver, the CUDA 13 runtime and cuDNN 9, or add their folder to LD_LIBRARY_PATH)"));
        var cause = parts.Count > 0 ? string.Join("; ", parts) : "every needed file is present";
        return $"The {name} execution provider could not be loaded: {cause}. ONNX Runtime said: {ortMessage}";
    }

    private static bool CanLoad(string soname)
    {
        if (!NativeLibrary.TryLoad(soname, out var handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
    }
}
