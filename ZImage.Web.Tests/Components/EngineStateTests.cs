using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;

namespace ZImage.Web.Tests.Components;

/// <summary>The model's state (IModelStatus) and what ONNX Runtime offers, as the status bar and Settings show them.</summary>
public sealed class EngineStateTests
{
    private static readonly RuntimeInfo Missing = new(null, [], null,
        "ONNX Runtime was not found: '/opt/zimage/ort/libonnxruntime.so' does not exist.");

    [Fact]
    public async Task TheStatusBarNamesWhereTheModelRunsAndListsTheRuntimesProvidersOnHover()
    {
        // The real library in the test output: it offers at least the CPU, and Auto falls back to it without CUDA's library.
        await using var studio = await TestStudio.StartAsync(modelDetail: "self-test-tiny (self-test, random weights), on the processor");
        var html = Decoded(await studio.RenderAsync<StatusBar>());

        Assert.Contains("Model ready", html);
        // The engine's English line is not a tooltip any more (everyone manages an open studio); About tells it translated.
        Assert.DoesNotContain("random weights", html);
        Assert.Matches("id=\"status-runtime\" title=\"ONNX Runtime 1\\.\\d+\\.\\d+ on this machine offers: [^\"]*CPU\"", html);
        Assert.Contains("Runs on CPU", html);
    }

    [Fact]
    public async Task AProviderChosenInSettingsIsWhatTheStatusBarSays()
    {
        await using var studio = await TestStudio.StartAsync(settings: new Dictionary<string, string?> { ["ZImage:Engine:Provider"] = "Cuda" });
        var html = Decoded(await studio.RenderAsync<StatusBar>());
        Assert.Contains("Runs on CUDA", html);
    }

    [Fact]
    public async Task AModelThatFailedToLoadShowsItsReasonInTheStatusBar()
    {
        await using var studio = await TestStudio.StartAsync(model: ModelState.Error, modelDetail: "transformer/model.onnx is 12 bytes; the manifest says 4,096");
        var html = Decoded(await studio.RenderAsync<StatusBar>());
        Assert.Contains("Model could not load", html);
        Assert.Matches("<summary[^>]*>Details</summary>\\s*<span[^>]*lang=\"en\"[^>]*>transformer/model.onnx is 12 bytes; the manifest says 4,096</span>", html);
    }

    [Fact]
    public async Task AMissingRuntimeLibraryIsAReadableLineNotAFailedPage()
    {
        await using var studio = await TestStudio.StartAsync(runtime: new FixedRuntimeInfo(Missing));

        var bar = Decoded(await studio.RenderAsync<StatusBar>());
        Assert.Contains("Engine library missing", bar);
        Assert.Matches("id=\"status-runtime-detail\".*lang=\"en\"[^>]*>ONNX Runtime was not found: '/opt/zimage/ort/libonnxruntime.so' does not exist.</span>", bar.ReplaceLineEndings(" "));

        var settings = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("The engine library (ONNX Runtime) could not be loaded, so no pictures can be made: ONNX Runtime was not found: '/opt/zimage/ort/libonnxruntime.so' does not exist.", settings);
    }

    [Fact]
    public async Task SettingsListsTheProvidersThisMachinesRuntimeOffersAndWhatAutomaticPicks()
    {
        var offered = new RuntimeInfo("1.32.0", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], ZImage.Engine.Onnx.ExecutionProvider.Cuda, null);
        await using var studio = await TestStudio.StartAsync(runtime: new FixedRuntimeInfo(offered), modelDetail: "z-image-turbo on Cuda");
        var html = Decoded(await studio.RenderAsync<Settings>());

        Assert.Contains("ONNX Runtime 1.32.0 here offers TensorRT, CUDA, CPU. Automatic uses CUDA on this machine.", html);
        Assert.Matches("id=\"engine-model-state\">.*Engine: Model ready.*<summary[^>]*>Details</summary>\\s*<span[^>]*lang=\"en\"[^>]*>z-image-turbo on Cuda</span>", html.ReplaceLineEndings(" "));
    }

    [Fact]
    public async Task TheRealRuntimeSourceReportsAFailedLoadAsAProblemAndKeepsTheAnswer()
    {
        var calls = 0;
        var source = new OrtRuntimeInfoSource(() =>
        {
            calls++;
            throw new InvalidOperationException("ONNX Runtime is already loaded from '/a'; one process cannot also load '/b'.");
        });

        var first = source.Get();
        var second = source.Get();

        Assert.False(first.Loaded);
        Assert.Equal("ONNX Runtime is already loaded from '/a'; one process cannot also load '/b'.", first.Problem);
        Assert.Empty(first.Providers);
        Assert.Same(first, second);
        Assert.Equal(1, calls);
    }

    private static string Decoded(string html) => System.Net.WebUtility.HtmlDecode(html);
}
