using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Onnx;

/// <summary>
/// The build brings the CUDA and TensorRT provider libraries (NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux); this
/// machine has no NVIDIA driver, CUDA runtime or cuDNN, so asking for those providers must fail with the missing
/// system libraries named, and the CPU must go on working.
/// </summary>
[Collection(OnnxCollection.Name)]
public sealed class ExecutionProviderTests(OrtFixture fixture)
{
    private bool CudaRuntimeHere => ProviderDiagnostics.CudaSystemLibraries.All(l => System.Runtime.InteropServices.NativeLibrary.TryLoad(l, out _));

    [Fact]
    public void TheBuildPutsTheCoreAndTheCudaProviderSideBySide()
    {
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), fixture.Runtime.Directory);
        foreach (var file in (string[])[OrtRuntime.LibraryFileName, .. ProviderDiagnostics.TensorRtProviderFiles])
            Assert.True(File.Exists(Path.Combine(fixture.Runtime.Directory, file)), $"{file} is not in {fixture.Runtime.Directory}");
        Assert.Contains("CUDAExecutionProvider", fixture.Runtime.AvailableProviders);
    }

    [Fact]
    public void AskingForCudaWithoutTheCudaLibrariesNamesThemAndCpuStillWorks()
    {
        Assert.False(CudaRuntimeHere, "This test needs a machine without the CUDA runtime, as CI is.");
        var model = TestModels.Linear(fixture, "linear_cuda.onnx");

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(model, new() { Provider = ExecutionProvider.Cuda }));

        Assert.StartsWith("The CUDA execution provider could not be loaded: cannot load ", error.Message);
        Assert.Contains("libcublas.so.13", error.Message);
        Assert.Contains("cuDNN 9", error.Message);
        Assert.DoesNotContain("missing libonnxruntime_providers", error.Message);
        Assert.Contains("ONNX Runtime said: Cuda provider: ", error.Message);
        Assert.Contains("libcublasLt.so.13: cannot open shared object file", error.Message); // ORT's own dlopen error, carried along
        using var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 });
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
        Assert.Equal(TestModels.LinearReference([1, 2, 3, 4]), outputs[0].ToArray<float>());
    }

    [Fact]
    public void ACudaProviderThatCannotStartOnTheCardIsACardFaultNotTheJobs()
    {
        Assert.False(CudaRuntimeHere, "This test needs a machine without the CUDA runtime, as CI is.");
        var model = TestModels.Linear(fixture, "linear_cuda_fault.onnx");

        // ONNX Runtime's own error, as a card with a broken driver or CUDA install gives it when its session is made.
        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(model, new() { Provider = ExecutionProvider.Cuda }));

        Assert.True(OrtFailures.IsCardFault(error), $"{error.ErrorCode}: {error.Message}");
    }

    [Fact]
    public void AskingForTensorRtWithoutItsLibrariesNamesThem()
    {
        var model = TestModels.Linear(fixture, "linear_trt.onnx");

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(model, new() { Provider = ExecutionProvider.TensorRT }));

        Assert.StartsWith("The TensorRT execution provider could not be loaded", error.Message);
        Assert.Contains("libnvinfer.so.10", error.Message);
    }

    [Fact]
    public void AFolderWithoutTheProviderLibrariesIsNamedWithWhatItLacks()
    {
        // ZIMAGE_ORT_DIR may name a folder that holds only the core library.
        var bare = fixture.PathFor("bare-ort");
        Directory.CreateDirectory(bare);

        var message = ProviderDiagnostics.Explain(ExecutionProvider.Cuda, bare, "Failed to load shared library");

        Assert.Contains($"missing libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so in '{bare}'", message);
        Assert.EndsWith("ONNX Runtime said: Failed to load shared library", message);
        Assert.False(ProviderDiagnostics.CanRun(ExecutionProvider.Cuda, bare));
    }

    [Fact]
    public void AutomaticChoosesTheCpuWhereCudaCannotRun()
    {
        Assert.False(CudaRuntimeHere, "This test needs a machine without the CUDA runtime, as CI is.");

        Assert.False(ProviderDiagnostics.CanRun(ExecutionProvider.Cuda, fixture.Runtime.Directory));
        Assert.Equal(ExecutionProvider.Cpu, new EngineOptions { Provider = ProviderChoice.Auto }.ResolveProvider(fixture.Runtime));
        Assert.Equal(ExecutionProvider.Cuda, new EngineOptions { Provider = ProviderChoice.Cuda }.ResolveProvider(fixture.Runtime));
    }
}
