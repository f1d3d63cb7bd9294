using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Pages;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>The issue's small things: words said once, and Chinese punctuation and spacing as a Chinese reader expects.</summary>
public partial class ComponentTests
{
    [Fact]
    public async Task WithNoModelTheEngineLineAndTheStatusBarSayItOnce()
    {
        // PipelineHost's own detail for this state repeats the state in English; the pages must not add it.
        await using var studio = await TestStudio.StartAsync(model: ModelState.NotInstalled, modelDetail: "no model is installed");

        var engine = System.Text.RegularExpressions.Regex.Match(Decoded(await studio.RenderAsync<Settings>()),
            "<div[^>]*id=\"engine-model-state\".*?</div>", System.Text.RegularExpressions.RegexOptions.Singleline).Value;
        var bar = Decoded(await studio.RenderAsync<StatusBar>());

        Assert.Contains("No model installed", engine);
        Assert.DoesNotContain("no model is installed", engine);
        Assert.Contains("No model installed", bar);
        Assert.DoesNotContain("no model is installed", bar);
    }

    [Fact]
    public async Task TheChineseEngineLineHasNoSpaceAfterItsFullWidthColon()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);

        var engine = System.Text.RegularExpressions.Regex.Match(await studio.RenderAsync<Settings>(),
            "<div[^>]*id=\"engine-model-state\".*?</div>", System.Text.RegularExpressions.RegexOptions.Singleline).Value;

        Assert.Contains("引擎：模型已就绪", VisibleText(engine));
    }

    [Fact]
    public async Task AWaitingJobsStartTimeInChineseHasNoSpaceBeforeTheVerb()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var job = new JobView("j1", JobStatus.Queued, new GenerationRequest { Prompt = "p" }, DateTimeOffset.Now, Position: 2, Eta: TimeSpan.FromMinutes(2));

        var text = VisibleText(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = job }));

        Assert.Contains("约 2 分钟后开始", text);
        Assert.DoesNotMatch(CjkSpaceCjk, text);
    }

    [Fact]
    public async Task YourLineInTheChineseQueueUsesAFullWidthColon()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        studio.Pipeline.Hold();
        try
        {
            var session = studio.Get<GenerateSession>();
            await session.AttachAsync();
            session.Form.Prompt = "雪中的狐狸";
            await session.SubmitAsync();
            await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running }], "running");

            var text = VisibleText(await studio.RenderAsync<Generate>());

            Assert.Contains("你的：雪中的狐狸", text);
            Assert.DoesNotContain("你的:", text);
        }
        finally
        {
            studio.Pipeline.Release();
        }
    }

    [Fact]
    public void NoChineseLabelPutsAHalfWidthColonOrASpaceBetweenChineseWords()
    {
        var wrong = UiText.Keys
            .Select(key => (key, zh: UiText.Get(key, UiLanguage.Chinese)))
            .Where(entry => HalfWidthColonAfterCjk.IsMatch(entry.zh) || CjkSpaceCjk.IsMatch(entry.zh))
            .Select(entry => $"{entry.key}: {entry.zh}")
            .ToList();
        Assert.True(wrong.Count == 0, "Chinese labels with a half-width colon or a space between Chinese words:\n" + string.Join("\n", wrong));
    }

    /// <summary>"分钟 后" and the like: a space inside Chinese text, where none belongs (around numbers and Latin it may).</summary>
    private static readonly System.Text.RegularExpressions.Regex CjkSpaceCjk = new(@"[\p{IsCJKUnifiedIdeographs}] +[\p{IsCJKUnifiedIdeographs}]");

    private static readonly System.Text.RegularExpressions.Regex HalfWidthColonAfterCjk = new(@"[\p{IsCJKUnifiedIdeographs}]:");
}
