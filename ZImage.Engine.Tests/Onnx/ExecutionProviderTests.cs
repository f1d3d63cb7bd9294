using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Onnx;

[Collection(OnnxCollection.Name)]
public sealed class ExecutionProviderTests(OrtFixture fixture)
{
    private bool CudaProviderInstalled => File.Exists(Path.Combine(fixture.Runtime.Directory, "libonnxruntime_providers_cuda.so"));

    [Fact]
    public void AskingForCudaWhereItIsAbsentNamesTheMissingFilesAndCpuStillWorks()
    {
        Assert.False(CudaProviderInstalled, "This test needs a native/ folder without the CUDA provider, as the build leaves it.");
        var model = TestModels.Linear(fixture, "linear_cuda.onnx");

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(model, new() { Provider = ExecutionProvider.Cuda }));

        Assert.Contains("The CUDA execution provider could not be loaded", error.Message);
        Assert.Contains("missing libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so", error.Message);
        Assert.Contains(fixture.Runtime.Directory, error.Message);
        Assert.Contains("libcudart.so.13", error.Message);
        using var session = fixture.Runtime.OpenSession(model, new() { IntraOpThreads = 1 });
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
        Assert.Equal(TestModels.LinearReference([1, 2, 3, 4]), outputs[0].ToArray<float>());
    }

    [Fact]
    public void AskingForTensorRtWhereItIsAbsentNamesTheMissingFiles()
    {
        var model = TestModels.Linear(fixture, "linear_trt.onnx");

        var error = Assert.Throws<OnnxRuntimeException>(() => fixture.Runtime.OpenSession(model, new() { Provider = ExecutionProvider.TensorRT }));

        Assert.Contains("The TensorRT execution provider could not be loaded", error.Message);
        Assert.Contains("libonnxruntime_providers_tensorrt.so", error.Message);
        Assert.Contains("libnvinfer.so.10", error.Message);
        Assert.Contains("TensorRT provider options", error.Message); // Create passed, Update reached the provider bridge
    }

    // Without the provider libraries the CUDA and TensorRT slots can only be proven up to the point where ORT tries to
    // load them: CreateXProviderOptions succeeds, UpdateXProviderOptions and the V2 append each fail inside ORT's provider
    // bridge (Update naming the provider library, the append saying it failed to load it). Running a model on them is proven on the GPU machine (ort-check --provider cuda).

    [Fact]
    public void CudaOptionSlotsReachTheCudaProviderBridge()
    {
        Assert.False(CudaProviderInstalled, "This test needs a native/ folder without the CUDA provider, as the build leaves it.");
        using var options = OrtNative.CreateSessionOptions();

        var error = Assert.Throws<OnnxRuntimeException>(() =>
            OrtNative.AppendCuda(options, new Dictionary<string, string> { ["device_id"] = "0", ["gpu_mem_limit"] = "1073741824" }));

        Assert.StartsWith("CUDA provider options: ", error.Message); // Create passed, Update failed
        Assert.Contains("libonnxruntime_providers_shared.so", error.Message);
    }

    [Fact]
    public void CudaAppendSlotTriesToLoadTheCudaProvider()
    {
        Assert.False(CudaProviderInstalled, "This test needs a native/ folder without the CUDA provider, as the build leaves it.");
        using var options = OrtNative.CreateSessionOptions();

        var error = Assert.Throws<OnnxRuntimeException>(() => OrtNative.AppendCuda(options, new Dictionary<string, string>()));

        Assert.Equal("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library", error.Message);
    }

    [Fact]
    public void TensorRtAppendSlotTriesToLoadTheTensorRtProvider()
    {
        using var options = OrtNative.CreateSessionOptions();

        var error = Assert.Throws<OnnxRuntimeException>(() => OrtNative.AppendTensorRt(options, new Dictionary<string, string>()));

        Assert.Equal("OrtSessionOptionsAppendExecutionProvider_TensorRT: Failed to load shared library", error.Message);
    }

    [Fact]
    public void ProviderAppendedByNameIsCheckedByName()
    {
        using var options = OrtNative.CreateSessionOptions();

        var error = Assert.Throws<OnnxRuntimeException>(() =>
            OrtNative.AppendExecutionProvider(options, "NoSuchProvider", new Dictionary<string, string>()));

        Assert.Contains("NoSuchProvider", error.Message);
    }
}
