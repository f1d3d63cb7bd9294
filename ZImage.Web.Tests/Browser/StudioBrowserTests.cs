using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// A few end-to-end checks in a real browser against the real server with the fake pipeline: the Blazor circuit
/// (blazor.web.js is the SDK's own), MudBlazor components,
/// reconnecting, and two people whose jobs the test holds in place. The designer's round trip on the real engine is in
/// <see cref="DesignerRoundTripTests"/>. Kept few: Chromium is the slow part on a 2-core CI machine.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class StudioBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task TheCircuitAnswersClicksMudBlazorWorksAndAReconnectKeepsTheSession()
    {
        await using var ann = await server.NewPersonAsync();
        await ann.ArriveAsAsync("Ann");

        // A click handled on the server changes the page: the language switch.
        await ann.Page.Locator("#lang-zh").ClickAsync();
        await Expect(ann.Page.Locator("#tab-generate")).ToContainTextAsync("生成");
        await Expect(ann.Page.Locator("#generate")).ToContainTextAsync("生成");

        // A MudBlazor component round-trips over the circuit: the steps slider (in the Advanced section) follows the keyboard.
        await ann.Page.Locator("#advanced .mud-expand-panel-header").ClickAsync();
        await Expect(ann.Page.Locator("#steps input[type=range]")).ToBeVisibleAsync();
        await ann.Page.Locator("#steps input[type=range]").FocusAsync();
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
    public async Task TwoPeopleSeeOthersJobsAsPlacesInLineWithThePromptOnlyWhereItsOwnerShares()
    {
        await using var ann = await server.NewPersonAsync();
        await using var bob = await server.NewPersonAsync(locale: "zh-CN");
        await ann.ArriveAsAsync("Ann2");
        await bob.ArriveAsAsync("Bob2");
        // Ann keeps her pictures to herself; Bob leaves the team studio's default (shared).
        await ann.Page.Locator("#tab-history").ClickAsync();
        await ann.Page.Locator("#share-pictures").UncheckAsync();
        await Expect(ann.Page.Locator("#share-pictures-hint")).ToContainTextAsync("Only you");
        await ann.Page.Locator("#tab-generate").ClickAsync();

        server.Pipeline.Hold();
        try
        {
            await ann.Page.Locator("#prompt").FillAsync("Ann's secret lighthouse");
            await ann.Page.Locator("#generate").ClickAsync();
            await Expect(ann.Page.Locator(".zi-job-running .zi-job-status")).ToContainTextAsync("step");
            await Expect(ann.Page.Locator(".zi-job-preview img")).ToBeVisibleAsync();
            await ann.ScreenshotAsync("generate-progress-1366x768");

            await bob.Page.Locator("#prompt").FillAsync("鲍勃的猫");
            await bob.Page.Locator("#generate").ClickAsync();
            await Expect(bob.Page.Locator(".zi-job-queued")).ToContainTextAsync("1");

            // Bob sees Ann's job only as someone's; never her prompt.
            await Expect(bob.Page.Locator("#queue")).ToContainTextAsync("他人");
            await Expect(bob.Page.Locator("body")).Not.ToContainTextAsync("lighthouse");
            await bob.ScreenshotAsync("generate-queued-zh-1366x768");
            await Expect(ann.Page.Locator("#queue")).ToContainTextAsync("Shared: 鲍勃的猫");
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
        await Expect(bob.Page.Locator("#owner-everyone")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
        await Expect(bob.Page.Locator("#history-grid")).ToContainTextAsync("鲍勃的猫");
        await Expect(bob.Page.Locator("#history-grid")).Not.ToContainTextAsync("Ann2");
        await ann.Page.Locator("#tab-history").ClickAsync();
        await ann.Page.Locator("#owner-everyone").ClickAsync();
        await Expect(ann.Page.Locator("#history-grid")).ToContainTextAsync("Bob2");

        Assert.Empty(ann.Errors);
        Assert.Empty(bob.Errors);
    }
}
