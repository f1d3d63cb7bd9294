using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Pipeline;

public class CudaMemoryDefaultsTests
{
    [Fact]
    public void CudaSessionsGrowArenasByWhatIsAskedKeepWeightsOutsideThemAndCapConvolutionWorkspace()
    {
        var options = ZImagePipeline.CudaMemoryDefaults(new InferenceSessionOptions { Provider = ExecutionProvider.Cuda });

        Assert.Equal("kSameAsRequested", options.ProviderOptions["arena_extend_strategy"]);
        Assert.Equal("0", options.ProviderOptions["cudnn_conv_use_max_workspace"]);
        Assert.Equal("1", options.ConfigEntries["session.use_device_allocator_for_initializers"]);
    }

    [Fact]
    public void WhatTheOperatorSetWinsOverTheDefaults()
    {
        var options = ZImagePipeline.CudaMemoryDefaults(new InferenceSessionOptions
        {
            Provider = ExecutionProvider.Cuda,
            ProviderOptions = new Dictionary<string, string> { ["cudnn_conv_use_max_workspace"] = "1", ["use_tf32"] = "0" },
            ConfigEntries = new Dictionary<string, string> { ["session.use_device_allocator_for_initializers"] = "0" },
        });

        Assert.Equal("1", options.ProviderOptions["cudnn_conv_use_max_workspace"]);
        Assert.Equal("0", options.ProviderOptions["use_tf32"]);
        Assert.Equal("kSameAsRequested", options.ProviderOptions["arena_extend_strategy"]);
        Assert.Equal("0", options.ConfigEntries["session.use_device_allocator_for_initializers"]);
    }

    [Theory]
    [InlineData(ExecutionProvider.Cpu)]
    [InlineData(ExecutionProvider.WebGpu)]
    [InlineData(ExecutionProvider.TensorRT)]
    public void OtherProvidersAreLeftAsTheyAre(ExecutionProvider provider)
    {
        var given = new InferenceSessionOptions { Provider = provider };

        Assert.Same(given, ZImagePipeline.CudaMemoryDefaults(given));
    }

    [Fact]
    public void AnFp16VaeOnCudaRunsChannelsLastAndAnFp32OneDoesNot()
    {
        var cuda = new InferenceSessionOptions { Provider = ExecutionProvider.Cuda };

        Assert.Equal("1", ZImagePipeline.VaeLayoutDefault(cuda, "fp16").ProviderOptions["prefer_nhwc"]);
        Assert.False(ZImagePipeline.VaeLayoutDefault(cuda, "fp32").ProviderOptions.ContainsKey("prefer_nhwc"));
        Assert.False(ZImagePipeline.VaeLayoutDefault(new InferenceSessionOptions { Provider = ExecutionProvider.Cpu }, "fp16")
            .ProviderOptions.ContainsKey("prefer_nhwc"));
        var chosen = cuda with { ProviderOptions = new Dictionary<string, string> { ["prefer_nhwc"] = "0" } };
        Assert.Equal("0", ZImagePipeline.VaeLayoutDefault(chosen, "fp16").ProviderOptions["prefer_nhwc"]);
    }
}
