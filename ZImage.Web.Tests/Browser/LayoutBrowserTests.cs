using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// The MudBlazor layout on a phone, a laptop and a desktop, in English/light and Chinese/dark: the document is never
/// wider than the screen, the header's controls stay reachable, nothing breaks the page's Content-Security-Policy
/// (a refused style or script is a console error), and each tab's screenshot is small enough for the docs.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class LayoutBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    private static readonly (string Tab, string Path)[] Tabs = [("generate", "/"), ("history", "/history"), ("settings", "/settings")];

    /// <summary>Set ZIMAGE_SCREENSHOTS to a folder (docs/screenshots) to keep the pictures; otherwise the artifacts folder.</summary>
    private static string ScreenshotFolder =>
        Environment.GetEnvironmentVariable("ZIMAGE_SCREENSHOTS") is { Length: > 0 } dir ? dir : StudioServer.ArtifactsFolder;

    [Fact]
    public async Task OnAPhoneEveryTabIsOneColumnWithoutSidewaysScrollAndTheHeaderControlsAreReachable()
    {
        await using var ann = await server.NewPersonAsync(390, 844);
        await ann.ArriveAsAsync("Ann");
        foreach (var (tab, path) in Tabs.Concat([("batches", "/batches"), ("usage", "/usage")]))
        {
            await ann.OpenAsync(path);
            await Expect(ann.Page.Locator($"#tab-{tab}")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
            Assert.True(await FitsAsync(ann.Page), $"{tab}: the document is wider than the 390 px screen: {await WideestAsync(ann.Page)}");
            foreach (var control in new[] { "#lang-en", "#lang-zh", "#theme-toggle", "#user-name", "#tab-generate", "#tab-history", "#tab-batches", "#tab-usage", "#tab-settings" })
                await Expect(ann.Page.Locator(control)).ToBeInViewportAsync();
        }

        // <html lang> follows the language picked, without a reload.
        await ann.Page.Locator("#lang-zh").ClickAsync();
        await Expect(ann.Page.Locator("html")).ToHaveAttributeAsync("lang", "zh-CN");
        await ann.Page.Locator("#lang-en").ClickAsync();
        await Expect(ann.Page.Locator("html")).ToHaveAttributeAsync("lang", "en");

        // The form is one column: the prompt, the size and the Generate button line up at the same left edge.
        await ann.OpenAsync("/");
        var prompt = await ann.Page.Locator("#prompt").BoundingBoxAsync();
        var results = await ann.Page.Locator("#results-empty").BoundingBoxAsync();
        Assert.NotNull(prompt);
        Assert.NotNull(results);
        Assert.True(results!.Y > prompt!.Y + prompt.Height, "the results sit below the form, not beside it");

        // Tapping Generate brings the progress card (below the form) into view.
        server.Pipeline.Hold();
        try
        {
            await ann.Page.Locator("#prompt").FillAsync("a heron at the pond");
            await ann.Page.Locator("#generate").ClickAsync();
            await Expect(ann.Page.Locator(".zi-output .zi-job").First).ToBeInViewportAsync();
        }
        finally
        {
            server.Pipeline.Release();
        }
        Assert.Empty(ann.Errors);
    }

    [Theory]
    [InlineData("en", false)]
    [InlineData("zh-CN", true)]
    public async Task EachTabAtThreeSizesFitsTheScreenAndIsScreenshotUnder200KB(string language, bool dark)
    {
        foreach (var (width, height) in new[] { (390, 844), (1366, 768), (1920, 1080) })
        {
            await using var person = await server.NewPersonAsync(width, height, language == "en" ? "en-US" : "zh-CN");
            await person.Context.AddCookiesAsync([
                new Cookie { Name = "zi-lang", Value = language, Url = server.BaseUrl },
                new Cookie { Name = "zi-theme", Value = dark ? "dark" : "light", Url = server.BaseUrl },
                new Cookie { Name = "zi-user", Value = dark ? "Lin" : "Ann", Url = server.BaseUrl },
            ]);
            foreach (var (tab, path) in Tabs)
            {
                await person.OpenAsync(path);
                Assert.Equal(language == "en" ? "en" : "zh-CN", await person.Page.EvaluateAsync<string>("() => document.documentElement.lang"));
                Assert.True(await FitsAsync(person.Page), $"{tab} at {width}×{height}: the document is wider than the screen");
                Directory.CreateDirectory(ScreenshotFolder);
                var file = Path.Combine(ScreenshotFolder, $"{tab}-{width}x{height}-{language}-{(dark ? "dark" : "light")}.png");
                await person.Page.ScreenshotAsync(new PageScreenshotOptions { Path = file });
                Assert.True(new FileInfo(file).Length < 200_000, $"{Path.GetFileName(file)} is {new FileInfo(file).Length} bytes");
            }
            Assert.Empty(person.Errors);
        }
    }

    [Theory]
    [InlineData("en")]
    [InlineData("zh-CN")]
    public async Task TheGenerateBarShowsTheWholeButtonAndTheCountOnOneRowAtEverySize(string language)
    {
        foreach (var (width, height) in new[] { (390, 844), (1366, 768), (1920, 1080) })
        {
            await using var person = await server.NewPersonAsync(width, height);
            await person.Context.AddCookiesAsync([
                new Cookie { Name = "zi-lang", Value = language, Url = server.BaseUrl },
                new Cookie { Name = "zi-user", Value = "Ann", Url = server.BaseUrl },
            ]);
            await person.OpenAsync("/");
            var generate = person.Page.Locator("#generate");
            Assert.True(await generate.EvaluateAsync<bool>("b => b.scrollWidth <= b.clientWidth && b.scrollHeight <= b.clientHeight + 1"),
                $"{language} at {width}×{height}: the Generate button's label is cut off");
            var tops = new List<double>();
            for (var n = 1; n <= 4; n++)
                tops.Add((await person.Page.Locator($"#count-{n}").BoundingBoxAsync())!.Y);
            Assert.True(tops.Distinct().Count() == 1, $"{language} at {width}×{height}: the count buttons break into rows ({string.Join(", ", tops)})");
            Assert.Empty(person.Errors);
        }
    }

    [Fact]
    public async Task ThePageHeadingTakesFocusOnEachLoadWithoutARingAroundIt()
    {
        await using var ann = await server.NewPersonAsync();
        await ann.ArriveAsAsync("Ann");
        foreach (var (tab, path) in Tabs)
        {
            await ann.OpenAsync(path);
            // FocusOnNavigate gives the heading focus for screen readers once the page is interactive.
            await ann.Page.WaitForFunctionAsync("() => document.activeElement?.tagName === 'H1'");
            var outline = await ann.Page.EvaluateAsync<string>("() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; }");
            Assert.True(outline.StartsWith("none"), $"{tab}: the focused heading is drawn with an outline ({outline})");
        }
        Assert.Empty(ann.Errors);
    }

    /// <summary>For the failure message: the elements that reach past the screen's right edge.</summary>
    private static Task<string> WideestAsync(IPage page) => page.EvaluateAsync<string>(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(-4).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join(' | ')");

    private static Task<bool> FitsAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth");
}
