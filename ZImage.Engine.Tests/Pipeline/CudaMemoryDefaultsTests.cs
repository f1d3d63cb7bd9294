using ZImage.Engine.Onnx;

namespace ZImage.Engine.Tests.Pipeline;

public class CudaMemoryDefaultsTests
{
    [Fact]
    public void CudaSessionsGrowArenasByWhatIsAskedKeepWeightsOutsideThemAndCapConvolutionWorkspace()
    {
        var options = new InferenceSessionOptions { Provider = ExecutionProvider.Cuda }.WithCudaMemoryDefaults();

        Assert.Equal("kSameAsRequested", options.ProviderOptions["arena_extend_strategy"]);
        Assert.Equal("0", options.ProviderOptions["cudnn_conv_use_max_workspace"]);
        Assert.Equal("1", options.ConfigEntries["session.use_device_allocator_for_initializers"]);
    }

    [Fact]
    public void WhatTheOperatorSetWinsOverTheDefaults()
    {
        var options = new InferenceSessionOptions
        {
            Provider = ExecutionProvider.Cuda,
            ProviderOptions = new Dictionary<string, string> { ["cudnn_conv_use_max_workspace"] = "1", ["use_tf32"] = "0" },
            ConfigEntries = new Dictionary<string, string> { ["session.use_device_allocator_for_initializers"] = "0" },
        }.WithCudaMemoryDefaults();

        Assert.Equal("1", options.ProviderOptions["cudnn_conv_use_max_workspace"]);
        Assert.Equal("0", options.ProviderOptions["use_tf32"]);
        Assert.Equal("kSameAsRequested", options.ProviderOptions["arena_extend_strategy"]);
        Assert.Equal("0", options.ConfigEntries["session.use_device_allocator_for_initializers"]);
    }

    [Theory]
    [InlineData(ExecutionProvider.Cpu)]
    [InlineData(ExecutionProvider.TensorRT)]
    public void OtherProvidersAreLeftAsTheyAre(ExecutionProvider provider)
    {
        var given = new InferenceSessionOptions { Provider = provider };

        Assert.Same(given, given.WithCudaMemoryDefaults());
    }

    [Fact]
    public void AnFp16VaeOnCudaRunsChannelsLastAndAnFp32OneDoesNot()
    {
        var cuda = new InferenceSessionOptions { Provider = ExecutionProvider.Cuda };

        Assert.Equal("1", cuda.WithVaeLayout("fp16").ProviderOptions["prefer_nhwc"]);
        Assert.False(cuda.WithVaeLayout("fp32").ProviderOptions.ContainsKey("prefer_nhwc"));
        Assert.False(new InferenceSessionOptions { Provider = ExecutionProvider.Cpu }.WithVaeLayout("fp16")
            .ProviderOptions.ContainsKey("prefer_nhwc"));
        var chosen = cuda with { ProviderOptions = new Dictionary<string, string> { ["prefer_nhwc"] = "0" } };
        Assert.Equal("0", chosen.WithVaeLayout("fp16").ProviderOptions["prefer_nhwc"]);
    }
}
