using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// A few end-to-end checks in a real browser against the real server: the Blazor circuit (blazor.web.js comes
/// from the ASP.NET Core 9.0 runtime pack, see tools/blazor-web-js), Radzen components, reconnecting, and a
/// designer's whole round trip. Kept few: Chromium is the slow part on a 2-core CI machine.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class StudioBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task TheCircuitAnswersClicksRadzenWorksAndAReconnectKeepsTheSession()
    {
        await using var ann = await server.NewPersonAsync();
        await ann.ArriveAsAsync("Ann");

        // A click handled on the server changes the page: the language switch.
        await ann.Page.Locator("#lang-zh").ClickAsync();
        await Expect(ann.Page.Locator("#tab-generate")).ToContainTextAsync("生成");
        await Expect(ann.Page.Locator("#generate")).ToContainTextAsync("生成");

        // A Radzen component round-trips over the circuit: the steps slider follows the keyboard.
        await ann.Page.Locator("#steps .rz-slider-handle").FocusAsync();
        await ann.Page.Keyboard.PressAsync("ArrowRight");
        await Expect(ann.Page.Locator("#steps-value")).ToHaveTextAsync("9");

        // Drop the connection under the page: the client reconnects to the same circuit and state is kept.
        await ann.Page.EvaluateAsync("() => Blazor._internal.forceCloseConnection()");
        await ann.Page.Locator("#lang-en").ClickAsync();
        await Expect(ann.Page.Locator("#tab-generate")).ToContainTextAsync("Generate");
        await Expect(ann.Page.Locator("#steps-value")).ToHaveTextAsync("9");

        // The choice is remembered: a new page load starts in the last language picked.
        await ann.Page.Locator("#lang-zh").ClickAsync();
        await Expect(ann.Page.Locator("#tab-history")).ToContainTextAsync("历史");
        await ann.OpenAsync("/history");
        await Expect(ann.Page.Locator("#tab-history")).ToContainTextAsync("历史");
        await Expect(ann.Page.Locator("#user-name")).ToContainTextAsync("Ann");

        Assert.Empty(ann.Errors);
    }

    [Fact]
    public async Task ADesignerGeneratesFindsThePicturesInHistoryReusesTheSettingsAndDeletesOne()
    {
        await using var lin = await server.NewPersonAsync();
        await lin.ArriveAsAsync("Lin");
        var page = lin.Page;

        await page.Locator("#prompt").FillAsync("a paper boat on a rainy street, cinematic light");
        await page.Locator("#count-2").ClickAsync();
        await page.Locator("#size-custom").ClickAsync();
        await page.Locator("#custom-width input").FillAsync("1000");
        await page.Locator("#custom-width input").PressAsync("Tab");
        await Expect(page.Locator("#snap-width")).ToContainTextAsync("1000 was changed to 1008");
        await page.Locator("#custom-width input").FillAsync("768");
        await page.Locator("#custom-width input").PressAsync("Tab");

        await page.Locator("#prompt").PressAsync("Control+Enter");
        await Expect(page.Locator(".zi-job-running .zi-job-status")).ToContainTextAsync("step", new() { Timeout = 15_000 });
        await Expect(page.Locator(".zi-job-preview img")).ToBeVisibleAsync();
        await lin.ScreenshotAsync("generate-progress-1366x768");

        await Expect(page.Locator("#results .zi-tile")).ToHaveCountAsync(2, new() { Timeout = 20_000 });
        await page.SetViewportSizeAsync(1920, 1080);
        await lin.ScreenshotAsync("generate-1920x1080");
        await page.SetViewportSizeAsync(1366, 768);
        await lin.ScreenshotAsync("generate-1366x768");

        await page.Locator("#tab-history").ClickAsync();
        await Expect(page.Locator("#history-grid .zi-tile")).ToHaveCountAsync(2);
        await lin.ScreenshotAsync("history-1366x768");

        // Reuse: the form comes back with the picture's settings and its seed fixed.
        await page.Locator("#history-grid .zi-tile-open").First.ClickAsync();
        await Expect(page.Locator("#image-detail")).ToBeVisibleAsync();
        var seed = await page.Locator("#detail-seed").InnerTextAsync();
        await lin.ScreenshotAsync("history-detail-1366x768");
        await page.Locator("#detail-reuse").ClickAsync();
        await Expect(page.Locator("#prompt")).ToHaveValueAsync("a paper boat on a rainy street, cinematic light");
        await Expect(page.Locator("#seed-value input")).ToHaveValueAsync(seed);
        await Expect(page.Locator("#size-value")).ToContainTextAsync("768 × 1024");

        // Delete one, with confirmation.
        await page.Locator("#tab-history").ClickAsync();
        await page.Locator("#history-grid .zi-tile-open").First.ClickAsync();
        await page.Locator("#detail-delete").ClickAsync();
        await Expect(page.Locator("#delete-confirm")).ToBeVisibleAsync();
        await page.Locator("#delete-yes").ClickAsync();
        await Expect(page.Locator("#history-grid .zi-tile")).ToHaveCountAsync(1);

        // Select the rest and download them as a ZIP.
        await page.Locator("#history-grid .zi-tile-check input").First.CheckAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#download-zip").ClickAsync());
        Assert.EndsWith(".zip", download.SuggestedFilename);

        await page.Locator("#tab-settings").ClickAsync();
        await Expect(page.Locator("#settings-save")).ToBeVisibleAsync();
        await lin.ScreenshotAsync("settings-1366x768");
        await page.SetViewportSizeAsync(1920, 1080);
        await lin.ScreenshotAsync("settings-1920x1080");
        await page.Locator("#tab-history").ClickAsync();
        await Expect(page.Locator("#history-grid .zi-tile")).ToHaveCountAsync(1);
        await lin.ScreenshotAsync("history-1920x1080");

        await page.Locator("#theme-toggle").ClickAsync();
        await page.Locator("#tab-generate").ClickAsync();
        await Expect(page.Locator("#results .zi-tile")).ToHaveCountAsync(1);
        await lin.ScreenshotAsync("generate-dark-1920x1080");
        await page.Locator("#theme-toggle").ClickAsync();

        Assert.Empty(lin.Errors);
    }

    [Fact]
    public async Task TwoPeopleSeeOnlyTheirOwnJobsAndOthersOnlyAsPlacesInLine()
    {
        await using var ann = await server.NewPersonAsync();
        await using var bob = await server.NewPersonAsync(locale: "zh-CN");
        await ann.ArriveAsAsync("Ann2");
        await bob.ArriveAsAsync("Bob2");

        server.Pipeline.Hold();
        try
        {
            await ann.Page.Locator("#prompt").FillAsync("Ann's secret lighthouse");
            await ann.Page.Locator("#generate").ClickAsync();
            await Expect(ann.Page.Locator(".zi-job-running")).ToBeVisibleAsync();

            await bob.Page.Locator("#prompt").FillAsync("鲍勃的猫");
            await bob.Page.Locator("#generate").ClickAsync();
            await Expect(bob.Page.Locator(".zi-job-queued")).ToContainTextAsync("1");

            // Bob sees Ann's job only as someone's; never her prompt.
            await Expect(bob.Page.Locator("#queue")).ToContainTextAsync("他人");
            await Expect(bob.Page.Locator("body")).Not.ToContainTextAsync("lighthouse");
            await bob.ScreenshotAsync("generate-queued-zh-1366x768");
            await Expect(ann.Page.Locator("#queue")).ToContainTextAsync("Someone's job, position 1");
            await Expect(ann.Page.Locator("body")).Not.ToContainTextAsync("鲍勃的猫");
        }
        finally
        {
            server.Pipeline.Release();
        }

        await Expect(ann.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await Expect(bob.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await bob.Page.Locator("#tab-history").ClickAsync();
        await Expect(bob.Page.Locator("#history-grid .zi-tile")).ToHaveCountAsync(1);
        await Expect(bob.Page.Locator("#history-grid")).ToContainTextAsync("鲍勃的猫");
        await bob.Page.Locator("#owner-everyone").ClickAsync();
        await Expect(bob.Page.Locator("#history-grid")).ToContainTextAsync("Ann2");

        Assert.Empty(ann.Errors);
        Assert.Empty(bob.Errors);
    }
}
