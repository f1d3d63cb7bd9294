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

    /// <summary>The second card: a fake pipeline (held, so a job it takes stays running) and a 24 GB card with 20 GB used; its model unloaded unless <paramref name="model"/> says otherwise; <paramref name="freeGiB"/> free.</summary>
    private sealed class SecondCard(IModelStatus? model = null, long freeGiB = 4) : IGpuCardFactory
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
