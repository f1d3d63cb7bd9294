using Microsoft.Extensions.DependencyInjection;
using ZImage.Engine.Jobs;
using ZImage.Engine.Memory;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Pages;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>A studio driving two cards (ZImage:Engine:Devices = [0,1]): the status bar, Settings and the queue name each.</summary>
public partial class ComponentTests
{
    private static readonly Dictionary<string, string?> TwoCards = new()
    {
        ["ZImage:Engine:Devices:0"] = "0",
        ["ZImage:Engine:Devices:1"] = "1",
    };

    /// <summary>The second card: a fake pipeline (held, so a job it takes stays running) and a 24 GB card, 20 GB used unless told.</summary>
    /// <param name="freeGiB">Its free memory: 4 GB (the default) is too little for a job while the first card is free.</param>
    /// <param name="model">Its model's state: unloaded, with no cold start measured, unless told.</param>
    private sealed class SecondCard(int freeGiB = 4, IModelStatus? model = null) : IGpuCardFactory
    {
        public FakePipeline Pipeline { get; } = new() { StepTime = TimeSpan.FromMilliseconds(5) };

        public GpuCard Create(int index, int deviceId)
        {
            var probe = new FakeMemoryProbe(new GpuMemoryInfo("Test GPU (simulated)", 24 * FakeMemoryProbe.GiB, freeGiB * FakeMemoryProbe.GiB, (24 - freeGiB) * FakeMemoryProbe.GiB));
            var guard = new VramGuard(probe, new FixedFootprint(), new FixedVram());
            return new GpuCard(index, deviceId, Pipeline, guard, probe, model ?? new FixedModelStatus(ModelState.Unloaded));
        }

        private sealed class FixedFootprint : IModelFootprintSource
        {
            public ModelFootprint Current => new(1L << 30, 1L << 30, 1L << 28);
        }

        private sealed class FixedVram : Microsoft.Extensions.Options.IOptionsMonitor<VramOptions>
        {
            public VramOptions CurrentValue { get; } = new();
            public VramOptions Get(string? name) => CurrentValue;
            public IDisposable? OnChange(Action<VramOptions, string?> listener) => null;
        }
    }

    private static Task<TestStudio> TwoCardStudioAsync(SecondCard second) =>
        TestStudio.StartAsync(userName: "林薇", settings: TwoCards, isAdmin: true, configure: (services, _) => services.AddSingleton<IGpuCardFactory>(second));

    [Fact]
    public async Task TheStatusBarAndSettingsShowEachCardWithItsMemoryAndWhatItDoesInBothLanguages()
    {
        var second = new SecondCard();
        await using var studio = await TwoCardStudioAsync(second);
        studio.Pipeline.Hold();
        var job = await studio.Get<IJobService>().SubmitAsync(new JobRequest { Settings = new() { Prompt = "a fox", Width = 256, Height = 256, Steps = 4 } }, new Caller("林薇"));
        Assert.True(job.Accepted, job.Message);
        await Eventually.UntilAsync(() => studio.Get<ISystemStatus>().GetStatus().Cards[0].Progress is { Step: 1 }, "the first card at step 1");

        var bar = VisibleText(Decoded(await studio.RenderAsync<StatusBar>()));
        Assert.Contains("Card 0: Test GPU (simulated) · 9.7 of 85.9 GB used · making a picture, step 1 of 4", bar.ReplaceLineEndings(" "));
        Assert.Contains("Card 1: Test GPU (simulated) · 21.5 of 25.8 GB used · model unloaded (memory free)", bar.ReplaceLineEndings(" "));
        Assert.DoesNotContain("a fox", bar);
        var settings = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("This studio drives 2 graphics cards, one worker each, all taking pictures from the same queue:", settings);
        Assert.Contains("id=\"settings-card-1\"", settings);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = await studio.RenderAsync<StatusBar>();
        Assert.Contains("显卡 0：Test GPU (simulated) · 已用 9.7 / 85.9 GB · 生成中，第 1/4 步", VisibleText(Decoded(chinese)).ReplaceLineEndings(" "));
        Assert.Contains("显卡 1：Test GPU (simulated) · 已用 21.5 / 25.8 GB · 模型已卸载（显存已释放）", VisibleText(Decoded(chinese)).ReplaceLineEndings(" "));
        AssertNoEnglish(chinese, "status bar with two cards");
        var chineseSettings = await studio.RenderAsync<Settings>();
        Assert.Contains("本工作室使用 2 块显卡", Decoded(chineseSettings));
        studio.Pipeline.Release();
    }

    [Fact]
    public async Task ABrokenCardIsShownPausedWithItsNextTryInTheStatusBarAndSettingsInBothLanguages()
    {
        var second = new SecondCard(freeGiB: 20);
        second.Pipeline.FailWith = _ => new ZImage.Engine.Onnx.OnnxRuntimeException(ZImage.Engine.Onnx.OrtErrorCode.EpFail, "CUDA failure 999: unspecified launch failure");
        await using var studio = await TwoCardStudioAsync(second);
        studio.Pipeline.Hold();
        var jobs = studio.Get<IJobService>();
        foreach (var prompt in new[] { "one", "two" })
            Assert.True((await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = prompt, Width = 256, Height = 256, Steps = 4 } }, new Caller("林薇"))).Accepted);
        // The first card holds one job; the second fails the other and pauses (30 s), its job waiting again.
        await Eventually.UntilAsync(() => studio.Get<ISystemStatus>().GetStatus().Cards[1].Activity == CardActivity.Faulted, "the second card to pause");
        var fault = studio.Get<ISystemStatus>().GetStatus().Cards[1].Fault!;
        string at = fault.RetryAt.ToLocalTime().ToString("T", System.Globalization.CultureInfo.GetCultureInfo("en"));

        var bar = VisibleText(Decoded(await studio.RenderAsync<StatusBar>())).ReplaceLineEndings(" ");
        Assert.Contains("Card 1: Test GPU (simulated) · 4.3 of 25.8 GB used · paused after a fault", bar);
        Assert.Contains($"Card 1 failed and takes no job until {at}; waiting jobs go to another card or wait for it.", bar);
        var settings = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("id=\"settings-card-fault-1\"", settings);
        // The engine's own words, for whoever can fix the card.
        Assert.Contains("CUDA failure 999: unspecified launch failure", settings);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        string atZh = fault.RetryAt.ToLocalTime().ToString("T", System.Globalization.CultureInfo.GetCultureInfo("zh-CN"));
        var chinese = await studio.RenderAsync<StatusBar>();
        Assert.Contains("出错后已暂停", VisibleText(Decoded(chinese)));
        Assert.Contains($"显卡 1 出错，{atZh} 之前不接任务", VisibleText(Decoded(chinese)));
        AssertNoEnglish(WithoutEngineDetails(chinese), "status bar with a paused card");
        studio.Pipeline.Release();
    }

    /// <summary>The engine's English sentence behind "Details" is meant to stay English.</summary>
    private static string WithoutEngineDetails(string html) =>
        System.Text.RegularExpressions.Regex.Replace(html, "<details class=\"zi-engine-detail.*?</details>", "", System.Text.RegularExpressions.RegexOptions.Singleline);

    [Fact]
    public async Task TheQueueSaysWhichCardAndMachineRunEachRunningJobWithoutOthersPrompts()
    {
        await using var studio = await TestStudio.StartAsync();
        var others = new QueueEntry(0, JobStatus.Running, false, null, null) { Runner = new JobRunner("render-02", 1) };
        var local = new QueueEntry(0, JobStatus.Running, false, null, null) { Runner = new JobRunner(null, 0) };
        var waiting = new QueueEntry(1, JobStatus.Queued, false, null, TimeSpan.FromSeconds(20));
        var entries = new Dictionary<string, object?> { ["Entries"] = new List<QueueEntry> { others, local, waiting } };

        var english = VisibleText(Decoded(await studio.RenderAsync<QueueOverview>(entries))).ReplaceLineEndings(" ");
        Assert.Contains("Someone's job is being made · on render-02, card 1", english);
        Assert.Contains("Someone's job is being made · on card 0", english);
        Assert.Contains("Someone's job, position 1", english);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = Decoded(await studio.RenderAsync<QueueOverview>(entries));
        Assert.Contains("在 render-02 的显卡 1 上", chinese);
        Assert.Contains("在显卡 0 上", chinese);
    }
}
