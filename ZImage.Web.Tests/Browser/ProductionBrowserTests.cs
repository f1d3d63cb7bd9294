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

        var row = ann.Page.Locator("#batch-table [data-batch]").First;
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
    public async Task OnAPhoneInChineseAnUploadedCsvsBadRowsReadInChineseAndTheBatchIsACardThatFits()
    {
        server.Pipeline.Unhold();
        await using var mei = await server.NewPersonAsync(390, 844, "zh-CN");
        await mei.ArriveAsAsync("Mei");
        await mei.OpenAsync("/batches");
        await mei.Page.Locator("#lang-zh").ClickAsync();
        var folder = Directory.CreateTempSubdirectory("zimage-batch-upload").FullName;
        try
        {
            // The upload button is the page's own, in the page's language (the browser's file button would say "Choose File").
            await Expect(mei.Page.Locator("#batch-upload")).ToContainTextAsync("上传文件");
            await Expect(mei.Page.Locator("#batch-format-txt")).ToHaveAttributeAsync("aria-pressed", "true");
            var bad = Path.Combine(folder, "products.csv");
            await File.WriteAllTextAsync(bad, "prompt,seed,width\na white mug,1,512\na tote bag,2,500\n");
            await mei.Page.Locator("#batch-file").SetInputFilesAsync(bad);
            await Expect(mei.Page.Locator("#batch-upload-note")).ToContainTextAsync("products.csv");
            await Expect(mei.Page.Locator("#batch-format-csv")).ToHaveAttributeAsync("aria-pressed", "true");
            await mei.Page.Locator("#batch-start").ClickAsync();
            await Expect(mei.Page.Locator("#batch-problems")).ToContainTextAsync("第 3 行，width：必须是 16 的整数倍，范围 256 到 2048。");
            await Expect(mei.Page.Locator("#batch-problems")).Not.ToContainTextAsync("must");

            var good = Path.Combine(folder, "products.txt");
            await File.WriteAllTextAsync(good, "a white mug\na tote bag with a long descriptive name that must wrap on a phone screen\n");
            await mei.Page.Locator("#batch-file").SetInputFilesAsync(good);
            await Expect(mei.Page.Locator("#batch-format-txt")).ToHaveAttributeAsync("aria-pressed", "true");
            await mei.Page.Locator("#batch-count-2").ClickAsync();
            await Expect(mei.Page.Locator("#batch-count-2")).ToHaveAttributeAsync("aria-pressed", "true");
            await mei.Page.Locator("#batch-start").ClickAsync();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        var card = mei.Page.Locator("#batch-table [data-batch]").First;
        await Expect(card).ToHaveAttributeAsync("data-status", "finished", new() { Timeout = 60_000 });
        await Expect(card.Locator(".batch-counts")).ToContainTextAsync("4 张图片");
        await card.ScrollIntoViewIfNeededAsync();
        await Expect(card.Locator(".batch-zip")).ToBeInViewportAsync();
        Assert.True(await mei.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways on a phone");
        // The card's name, counts and ZIP button are all inside the screen, not in a table that scrolls within itself.
        foreach (var part in new[] { card, card.Locator(".batch-name"), card.Locator(".batch-counts"), card.Locator(".batch-zip") })
        {
            var box = (await part.BoundingBoxAsync())!;
            Assert.True(box.X >= 0 && box.X + box.Width <= 390, $"{await part.GetAttributeAsync("class")} sticks out of the phone screen: x {box.X}, width {box.Width}");
        }
        await mei.ScreenshotAsync("batches-390x844-zh-CN");
        Assert.Empty(mei.Errors);
    }

    [Fact]
    public async Task AnOutOfRangePriceIsNamedWithItsRangeInThePagesLanguageNotBlockedByTheBrowser()
    {
        await using var lan = await server.NewPersonAsync(390, 844, "en-US");
        await lan.ArriveAsAsync("Lan");
        await lan.OpenAsync("/settings");
        await lan.Page.Locator("#lang-zh").ClickAsync();
        await lan.Page.Locator("#price-form").SelectOptionAsync("Energy");
        await lan.Page.Locator("#price-watts").FillAsync("-5");
        // The browser's own check of min="0" would stop the save with an English bubble and no field-and-range message.
        await lan.Page.Locator("form.zi-settings button[type=submit]").ClickAsync();
        await Expect(lan.Page.Locator("#usage-price .zi-field-error")).ToContainTextAsync("显卡功耗（瓦） 必须在 0 到 100000 之间");
        Assert.Empty(lan.Errors);
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
            var row = bob.Page.Locator("#batch-table [data-batch]").First;
            await Expect(row).ToHaveAttributeAsync("data-status", "running");
            await row.Locator(".batch-cancel").ClickAsync();
        }
        finally
        {
            server.Pipeline.Release();
        }
        var cancelled = bob.Page.Locator("#batch-table [data-batch]").First;
        await Expect(cancelled).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = 30_000 });
        await Expect(cancelled.Locator(".batch-counts")).ToContainTextAsync("of 30");
        Assert.Empty(bob.Errors);
    }
}
