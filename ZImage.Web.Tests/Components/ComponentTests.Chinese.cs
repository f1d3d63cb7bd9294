using Microsoft.AspNetCore.Http;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>Errors, failures and status text in zh-CN: no English sentence reaches a person who reads Chinese.</summary>
public partial class ComponentTests
{
    private static readonly Dictionary<string, string?> TeamMember = new() { ["ZImage:Web:Mode"] = "Accounts" };

    public static TheoryData<JobStatus, string?, string> Failures => new()
    {
        { JobStatus.Failed, "The GPU ran out of memory while making these pictures. Try fewer images, a smaller size, or wait until the GPU is less busy.", "显卡内存不足" },
        { JobStatus.Failed, "Making the pictures failed: Non-zero status code returned while running MatMul node.", "生成图片时出错" },
        { JobStatus.Failed, "Disk full: the pictures were made but there is no space left in the output folder (/srv/out) to save them.", "磁盘已满" },
        { JobStatus.Failed, "The model can't be used: transformer/model.onnx is missing", "模型无法使用" },
        { JobStatus.Failed, "The graphics card failed: this job ran 3 times and the card failed each time; the last was GPU 1: CUDA failure 999: unspecified launch failure", "每次运行此任务时显卡都出错" },
        { JobStatus.Interrupted, null, "工作室重启" },
        { JobStatus.Failed, "Something nobody foresaw.", "任务因错误而停止" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task AFailedJobSaysWhyInChineseAndKeepsTheEnginesWordsFromPeopleWhoCannotFixIt(JobStatus status, string? reason, string expected)
    {
        await using var studio = await TestStudio.StartAsync(settings: TeamMember);
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var job = new JobView("j1", status, new GenerationRequest { Prompt = "雪中的狐狸" }, DateTimeOffset.Now, Error: reason);

        var html = await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = job });

        Assert.Contains(expected, VisibleText(html));
        Assert.DoesNotContain("zi-job-error-detail", html);
        AssertNoEnglish(html, "failed job card");
    }

    [Fact]
    public async Task AnAdministratorSeesTheEnginesReasonMarkedAsEnglishBesideTheTranslation()
    {
        await using var studio = await TestStudio.StartAsync(settings: TeamMember, isAdmin: true);
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var job = new JobView("j1", JobStatus.Failed, new GenerationRequest { Prompt = "p" }, DateTimeOffset.Now, Error: "Making the pictures failed: boom");

        var html = Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = job }));

        Assert.Contains("生成图片时出错", html);
        Assert.Matches("<summary[^>]*>详细信息</summary>\\s*<span[^>]*lang=\"en\"[^>]*>Making the pictures failed: boom</span>", html);
    }

    [Fact]
    public async Task AModelErrorInTheStatusBarAndOnGenerateReadsInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇", model: ModelState.Error, modelDetail: "transformer/model.onnx is 12 bytes; the manifest says 4,096", settings: TeamMember);
        studio.Localizer.SetLanguage(UiLanguage.Chinese);

        var bar = await studio.RenderAsync<StatusBar>();
        Assert.Contains("模型加载失败", VisibleText(bar));
        Assert.DoesNotContain("manifest", bar);
        AssertNoEnglish(bar, "status bar");
        AssertNoEnglish(await studio.RenderAsync<ZImage.Web.Components.Pages.Generate>(inLayout: true), "Generate page with a model error");
    }

    [Fact]
    public async Task InAnOpenStudioEveryoneReadsATranslatedSummaryWithTheEnginesEnglishClosedBehindDetails()
    {
        // Open mode: everyone manages the studio, so everyone is offered the engine's words, but not made to read them.
        await using var studio = await TestStudio.StartAsync(userName: "林薇", model: ModelState.Error, modelDetail: "Could not open transformer/model.onnx: bad magic");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);

        foreach (var (html, where) in new[] { (await studio.RenderAsync<StatusBar>(), "status bar"), (await studio.RenderAsync<ZImage.Web.Components.Pages.Settings>(), "Settings") })
        {
            var decoded = Decoded(html);
            Assert.Contains("模型加载失败", VisibleText(html));
            Assert.Matches("<details class=\"zi-engine-detail\"[^>]*>\\s*<summary[^>]*>详细信息</summary>\\s*<span[^>]*lang=\"en\"[^>]*>Could not open transformer/model.onnx: bad magic</span>", decoded);
            Assert.DoesNotMatch("<details[^>]*\\sopen", decoded);
            AssertNoEnglish(html, where);
        }
    }

    [Fact]
    public async Task TheReconnectDialogIsInChinese()
    {
        // The dialog is part of the page shell, rendered before the circuit exists: the language comes from the cookie.
        await using var studio = await TestStudio.StartAsync();
        var http = new DefaultHttpContext();
        http.Request.Headers.Cookie = $"{UiLanguages.CookieName}=zh-CN";
        var html = Decoded(await studio.RenderAsync<ZImage.Web.Components.App>(request: http));

        Assert.Contains("<html lang=\"zh-CN\">", html);
        var dialog = System.Text.RegularExpressions.Regex.Match(html, "<div id=\"components-reconnect-modal\".*?</div>\\s*</div>", System.Text.RegularExpressions.RegexOptions.Singleline).Value;

        Assert.Contains("连接已断开", VisibleText(dialog));
        AssertNoEnglish(dialog, "reconnect dialog");
    }

    private static void AssertNoEnglish(string html, string where)
    {
        var leftovers = EnglishWords(VisibleText(html)).Except(AllowedInChinese).ToList();
        Assert.True(leftovers.Count == 0, $"English left in the Chinese {where}: {string.Join(", ", leftovers)}");
    }
    [Fact]
    public async Task AnOddWidthIsExplainedByTheStudioInChineseNotByTheBrowser()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var form = studio.Get<GenerateSession>().Form;
        form.SizeMode = SizeMode.Custom;
        form.CustomWidth = 1000;

        var html = await studio.RenderAsync<ZImage.Web.Components.Pages.Generate>();
        var width = System.Text.RegularExpressions.Regex.Match(html, "<span id=\"custom-width\".*?(<input[^>]*>)", System.Text.RegularExpressions.RegexOptions.Singleline).Groups[1].Value;

        // A text input outside any form: the browser has no constraint of its own to check, so no bubble in its language.
        Assert.Contains("type=\"text\"", width);
        Assert.DoesNotContain("pattern=", width);
        Assert.DoesNotContain("required", width.Replace("aria-required", ""));
        Assert.DoesNotContain("<form", html);
        // The studio's own rule and its correction, in Chinese.
        var text = VisibleText(html);
        Assert.Contains("宽度：1000 已调整为 1008", text);
        Assert.Contains("边长必须是 16 像素的整数倍，范围 256 到 2048。", text);
        AssertNoEnglish(html, "custom size section");
    }
}
