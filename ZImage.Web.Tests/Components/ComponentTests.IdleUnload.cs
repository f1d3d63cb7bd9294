using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>
/// "Loading the model (≈ N s)" with several cards: it comes from the card that takes (or would take) the job, never
/// from card 0 alone.
/// </summary>
public partial class ComponentTests
{
    [Fact]
    public async Task TheStatusBarPromisesAColdStartOnlyWhenTheCardThatWouldTakeTheNextPictureHasNoModelInBothLanguages()
    {
        // Card 0 has the model loaded; card 1 was unloaded after idle minutes, its cold start measured at 40 s.
        var second = new SecondCard(model: new FixedModelStatus(ModelState.Unloaded, load: TimeSpan.FromSeconds(40)));
        await using var studio = await TwoCardStudioAsync(second);

        // Card 0 is free and has the model: the next picture starts at once there.
        var idle = VisibleText(Decoded(await studio.RenderAsync<StatusBar>())).ReplaceLineEndings(" ");
        Assert.Contains("model unloaded (memory free)", idle);
        Assert.DoesNotContain("loading the model (≈", idle);

        studio.Pipeline.Hold();
        var job = await studio.Get<IJobService>().SubmitAsync(new JobRequest { Settings = new() { Prompt = "a fox", Width = 256, Height = 256, Steps = 4 } }, new Caller("林薇"));
        Assert.True(job.Accepted, job.Message);
        await Eventually.UntilAsync(() => studio.Get<ISystemStatus>().GetStatus().Cards[0].Progress is { Step: 1 }, "the first card at step 1");

        // Card 0 is busy: the next picture goes to card 1, which loads the model first.
        var busy = VisibleText(Decoded(await studio.RenderAsync<StatusBar>())).ReplaceLineEndings(" ");
        Assert.Contains("next picture: loading the model (≈ 40 s)", busy);
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = await studio.RenderAsync<StatusBar>();
        Assert.Contains("下一张图片：加载模型（约 40 秒）", VisibleText(Decoded(chinese)));
        AssertNoEnglish(chinese, "status bar promising a cold start");
        studio.Pipeline.Release();
    }

    [Fact]
    public async Task AJobOnACardThatLoadsTheModelSaysSoUntilItsFirstStepAndAJobOnALoadedCardDoesNot()
    {
        var second = new SecondCard(freeGiB: 20, model: new FixedModelStatus(ModelState.Unloaded, load: TimeSpan.FromSeconds(40)));
        await using var studio = await TwoCardStudioAsync(second);
        studio.Pipeline.Hold();
        await second.Pipeline.HoldStepsAsync();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "雪中的狐狸";
        session.Form.SetSize(256, 256);
        await session.SubmitAsync();
        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running, Step: >= 1 }], "the first job at step 1 on card 0");
        // The second through the engine (the form ignores a second click within its burst guard); the session follows both.
        var heron = await studio.Get<IJobService>().SubmitAsync(new JobRequest { Settings = new() { Prompt = "黎明的苍鹭", Width = 256, Height = 256 } }, studio.User.Caller);
        Assert.True(heron.Accepted, heron.Message);
        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running, ModelLoad: not null }, _], "the second job started on card 1");

        var onCard1 = VisibleText(Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = session.Jobs[0] })));
        var onCard0 = VisibleText(Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = session.Jobs[1] })));
        Assert.Contains("loading the model (≈ 40 s)", onCard1);
        Assert.DoesNotContain("loading the model", onCard0);
        Assert.Contains("step 1 of", onCard0);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = session.Jobs[0] });
        Assert.Contains("加载模型（约 40 秒）", VisibleText(Decoded(chinese)));
        AssertNoEnglish(chinese, "job card loading the model");
        second.Pipeline.Unhold();
        studio.Pipeline.Release();
    }
}
