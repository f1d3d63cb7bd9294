using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>The batch page and the usage page (MudBlazor) in a real browser against the server with the fake pipeline.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class ProductionBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task ABatchFromPastedPromptsRunsInTwoStylesAndOffersItsZipThenUsageShowsIt()
    {
        server.Pipeline.Unhold();
        await using var ann = await server.NewPersonAsync();
        await ann.ArriveAsAsync("Batcher");
        await ann.OpenAsync("/batches");

        // A bad CSV row is named by its line and nothing starts.
        await ann.Page.Locator("#batch-format-csv").ClickAsync();
        await ann.Page.Locator("textarea#batch-list, #batch-list textarea").First.FillAsync("prompt,width\na fox,512\nbad,500\n");
        await ann.Page.Locator("#batch-start").ClickAsync();
        await Expect(ann.Page.Locator("#batch-problems")).ToContainTextAsync("Line 3, width");
        await Expect(ann.Page.Locator("#batch-none")).ToBeVisibleAsync();

        await ann.Page.Locator("#batch-format-txt").ClickAsync();
        await ann.Page.Locator("textarea#batch-list, #batch-list textarea").First.FillAsync("a red fox\na white mug");
        await ann.Page.Locator("input[data-style=photo], [data-style=photo] input").First.CheckAsync();
        await ann.Page.Locator("input[data-style=anime], [data-style=anime] input").First.CheckAsync();
        await ann.Page.Locator("input#batch-name, #batch-name input").First.FillAsync("browser batch");
        await ann.Page.Locator("#batch-start").ClickAsync();

        var row = ann.Page.Locator("#batch-table tr[data-batch]").First;
        await Expect(row).ToContainTextAsync("browser batch");
        await Expect(row).ToHaveAttributeAsync("data-status", "finished", new() { Timeout = 60_000 });
        await Expect(row.Locator(".batch-counts")).ToContainTextAsync("4 done");
        await Expect(row.Locator(".batch-zip")).ToBeVisibleAsync();
        var zip = await ann.Page.APIRequest.GetAsync(await row.Locator(".batch-zip").GetAttributeAsync("href") ?? "");
        Assert.Equal(200, zip.Status);
        Assert.Equal("application/zip", zip.Headers["content-type"]);
        await ann.ScreenshotAsync("batches-1366x768");

        await ann.OpenAsync("/usage");
        await Expect(ann.Page.Locator("#usage-title")).ToContainTextAsync("My usage");
        await Expect(ann.Page.Locator("#usage-people tr[data-user=Batcher]")).ToContainTextAsync("4");
        await Expect(ann.Page.Locator("#usage-chart svg").First).ToBeVisibleAsync();
        await ann.Page.Locator("#usage-days-7").ClickAsync();
        await Expect(ann.Page.Locator("#usage-pictures")).ToContainTextAsync("4");
        await ann.Page.Locator("#lang-zh").ClickAsync();
        await Expect(ann.Page.Locator("#usage-title")).ToContainTextAsync("我的用量");
        await ann.ScreenshotAsync("usage-1366x768");
        Assert.Empty(ann.Errors);
    }

    [Fact]
    public async Task ARunningBatchIsCancelledFromItsRow()
    {
        await using var bob = await server.NewPersonAsync();
        await bob.ArriveAsAsync("Canceller");
        server.Pipeline.Hold();
        try
        {
            await bob.OpenAsync("/batches");
            await bob.Page.Locator("textarea#batch-list, #batch-list textarea").First.FillAsync(string.Join('\n', Enumerable.Range(1, 30).Select(i => $"prompt {i}")));
            await bob.Page.Locator("#batch-start").ClickAsync();
            var row = bob.Page.Locator("#batch-table tr[data-batch]").First;
            await Expect(row).ToHaveAttributeAsync("data-status", "running");
            await row.Locator(".batch-cancel").ClickAsync();
        }
        finally
        {
            server.Pipeline.Release();
        }
        var cancelled = bob.Page.Locator("#batch-table tr[data-batch]").First;
        await Expect(cancelled).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 30_000 });
        await Expect(cancelled.Locator(".batch-counts")).ToContainTextAsync("of 30");
        Assert.Empty(bob.Errors);
    }
}
