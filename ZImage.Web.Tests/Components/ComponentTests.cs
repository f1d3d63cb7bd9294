using System.Text.RegularExpressions;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Pages;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

public partial class ComponentTests
{
    [Fact]
    public async Task ProgressCardShowsStepEtaAndPreviewFromNotifierEvents()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Pipeline.Hold();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "a fox in snow";
        session.Form.Count = 2;
        await session.SubmitAsync();
        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running, Step: >= 1 }], "running at step 1");

        var cancel = Microsoft.AspNetCore.Components.EventCallback.Factory.Create(this, () => { });
        var html = Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = session.Jobs[0], ["OnCancel"] = cancel }));

        Assert.Contains("Picture 1 of 2 · step 1 of 8", html);
        Assert.Contains("src=\"data:image/bmp;base64,", html);
        Assert.Contains("aria-valuenow=\"6\"", html); // 1 of 16 steps over both pictures
        Assert.Contains("zi-job-cancel", html);
        studio.Pipeline.Release();
    }

    [Fact]
    public async Task WaitingJobShowsItsPlaceInLine()
    {
        await using var studio = await TestStudio.StartAsync();
        var job = new JobView("j1", JobStatus.Queued, new GenerationRequest { Prompt = "p" }, DateTimeOffset.Now, Position: 3, Eta: TimeSpan.FromSeconds(42));
        var html = Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = job }));
        Assert.Contains("Waiting in line, position 3", html);
        Assert.Contains("starts in about 42 s", html);
    }

    [Fact]
    public async Task ARefusalRendersAsAReadableMessageNotAStackTrace()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = new string('x', 10_001);
        await session.SubmitAsync();

        var html = Decoded(await studio.RenderAsync<Generate>());

        Assert.Contains("id=\"refusal\"", html);
        Assert.Contains("Some settings are out of range.", html);
        Assert.Contains("prompt must be at most 10,000 characters", html);
        Assert.DoesNotContain("Exception", html);
        Assert.DoesNotContain("   at ", html);
    }

    [Fact]
    public async Task AFailedJobShowsItsReason()
    {
        await using var studio = await TestStudio.StartAsync();
        var job = new JobView("j1", JobStatus.Failed, new GenerationRequest { Prompt = "p" }, DateTimeOffset.Now, Error: "The graphics card ran out of memory.");
        var html = Decoded(await studio.RenderAsync<JobProgressCard>(new Dictionary<string, object?> { ["Job"] = job }));
        Assert.Contains("Could not finish", html);
        Assert.Contains("The job stopped with an error.", html);
        // The engine's own sentence, in English and marked so, waits closed behind "Details".
        Assert.Matches("<details class=\"zi-engine-detail\"[^>]*>\\s*<summary[^>]*>Details</summary>\\s*<span class=\"zi-engine-detail-text\"[^>]*lang=\"en\"[^>]*>The graphics card ran out of memory.</span>", html);
    }

    [Fact]
    public async Task WithoutAModelGenerateSaysSoAndLinksToSettings()
    {
        await using var studio = await TestStudio.StartAsync(model: ModelState.NotInstalled);
        var html = Decoded(await studio.RenderAsync<Generate>());
        Assert.Contains("No model is installed yet", html);
        Assert.Contains("href=\"settings#model\"", html);
    }

    [Fact]
    public async Task OnAFreshMachineWithNoModelFolderGenerateSaysThereIsNoModel()
    {
        // The pipeline has not reported anything (Unknown) and no model folder is configured.
        await using var studio = await TestStudio.StartAsync(model: ModelState.Unknown);
        var html = Decoded(await studio.RenderAsync<Generate>());
        Assert.Contains("No model is installed yet", html);
        Assert.Matches("<button[^>]*disabled[^>]*id=\"generate\"|<button[^>]*id=\"generate\"[^>]*disabled", html);
    }

    [Fact]
    public async Task SettingsOffersTheInstallerAndTheSelfTestModelAndSaysItsPicturesAreNoise()
    {
        await using var studio = await TestStudio.StartAsync(model: ModelState.Unknown);
        var html = Decoded(await studio.RenderAsync<Settings>());
        Assert.Contains("Install Z-Image-Turbo", html);
        Assert.Contains("id=\"install\"", html);
        Assert.Contains("id=\"self-test\"", html);
        Assert.Contains("Its pictures are random noise", html);
    }

    [Fact]
    public async Task TokenCounterWarnsWhenThePromptWillBeCut()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = "short";
        Assert.DoesNotContain("id=\"prompt-cut\"", await studio.RenderAsync<Generate>());

        session.Form.Prompt = string.Concat(Enumerable.Repeat("猫", 600));
        var html = Decoded(await studio.RenderAsync<Generate>());
        Assert.Contains("id=\"prompt-cut\"", html);
        // The person's own text against the room the template leaves it: 600 characters of 504.
        Assert.Contains("about 600 / 504 tokens", html);
    }

    [Fact]
    public async Task AnEmptyPromptCountsNoneOfThePersonsTokens()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Get<GenerateSession>().Form.Prompt = "";
        var html = Decoded(await studio.RenderAsync<Generate>());
        Assert.Matches("id=\"prompt-tokens\"[^>]*>\\s*about 0 / 504 tokens", html);
    }

    /// <summary>The renderer escapes non-ASCII characters (·, Chinese); assertions read the text as a person would.</summary>
    internal static string Decoded(string html) => System.Net.WebUtility.HtmlDecode(html);

    public static TheoryData<string> Pages => ["generate", "history", "settings", "settings-accounts"];

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task TheLanguageSwitchChangesEveryLabel(string page)
    {
        var accounts = page == "settings-accounts";
        await using var studio = await TestStudio.StartAsync(userName: "林薇", isAdmin: accounts,
            settings: accounts ? new Dictionary<string, string?> { ["ZImage:Web:Mode"] = "Accounts" } : null);
        if (accounts)
            await studio.Get<ZImage.Web.Api.Auth.ApiTokenStore>().CreateAsync("林薇", "批量脚本", isAdmin: true);
        var english = VisibleText(await RenderPageAsync(studio, page));
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = VisibleText(await RenderPageAsync(studio, page));

        // Every label shown in English is gone in Chinese…
        var shown = UiText.Keys.Select(UiText.Entry).Where(e => e.En.Length >= 4 && !e.Zh.Contains(e.En) && english.Contains(e.En)).ToList();
        Assert.True(shown.Count > 15, $"only {shown.Count} labels found on {page}");
        Assert.All(shown, e => Assert.DoesNotContain(e.En, chinese));

        // …and no English word is left that is not in the table (a label someone forgot to translate).
        var leftovers = EnglishWords(chinese).Except(AllowedInChinese).ToList();
        Assert.True(leftovers.Count == 0, $"English left on the Chinese {page} page: {string.Join(", ", leftovers)}");
    }

    private static Task<string> RenderPageAsync(TestStudio studio, string page) => page switch
    {
        "generate" => studio.RenderAsync<Generate>(inLayout: true),
        "history" => studio.RenderAsync<History>(inLayout: true),
        _ => studio.RenderAsync<Settings>(inLayout: true),
    };

    /// <summary>Names, units and codes that read the same in Chinese.</summary>
    private static readonly HashSet<string> AllowedInChinese =
        ["ZImage", "Z-Image-Turbo", "CFG", "Ctrl", "Enter", "EN", "MiB", "GB", "ZIP", "JSON", "onnx", "tokenizer.json", "manifest.json", "zimage.json",
         "Tongyi-MAI", "Turbo", "diffusers", "Hugging", "Face", "ModelScope", "Python", "AUTOMATIC", "PNG", "CUDA", "TensorRT", "CPU", "ONNX", "Runtime", "API", "Test", "GPU", "simulated", "x", "NET"];

    /// <summary>What a person reads: text nodes and the attributes browsers show (tooltips, placeholders, labels), one per line.</summary>
    private static string VisibleText(string html)
    {
        var visible = IconPattern().Replace(html, " ");
        visible = EngineWordsPattern().Replace(visible, " ");
        visible = CodePattern().Replace(visible, " ");
        visible = StylePattern().Replace(visible, " ");
        var texts = TextPattern().Matches(visible).Select(m => m.Groups[1].Value)
            .Concat(AttributePattern().Matches(visible).Select(m => m.Groups[2].Value));
        return string.Join("\n", texts.Select(t => System.Net.WebUtility.HtmlDecode(t).Trim()).Where(t => t.Length > 0));
    }

    private static IEnumerable<string> EnglishWords(string visibleText) =>
        WordPattern().Matches(visibleText).Select(m => m.Value).Distinct();

    [GeneratedRegex(@"<svg.*?</svg>", RegexOptions.Singleline)]
    private static partial Regex IconPattern();

    /// <summary>The engine's own sentences, marked lang="en" and shown only to those who manage the studio.</summary>
    [GeneratedRegex(@"<(span|p)[^>]*\slang=""en""[^>]*>.*?</\1>", RegexOptions.Singleline)]
    private static partial Regex EngineWordsPattern();

    [GeneratedRegex(@"<code(\s[^>]*)?>.*?</code>", RegexOptions.Singleline)]
    private static partial Regex CodePattern();

    [GeneratedRegex(@"<style.*?</style>", RegexOptions.Singleline)]
    private static partial Regex StylePattern();

    [GeneratedRegex(@">([^<]+)<")]
    private static partial Regex TextPattern();

    [GeneratedRegex(@"\s(title|placeholder|aria-label)=""([^""]*)""")]
    private static partial Regex AttributePattern();

    [GeneratedRegex(@"[A-Za-z][A-Za-z.\-]*[A-Za-z]|[A-Za-z]")]
    private static partial Regex WordPattern();
}
