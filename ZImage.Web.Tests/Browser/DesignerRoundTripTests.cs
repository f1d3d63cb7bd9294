using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// A designer's whole round trip in Chromium against the app running the real engine with the self-test model on the
/// CPU: generate two pictures, watch progress, find them in History, reuse their settings, delete one, download the
/// rest. Screenshots of every tab at 1366x768 and 1920x1080 go to artifacts/screenshots.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class DesignerRoundTripTests(TinyModelStudioServer server) : IClassFixture<TinyModelStudioServer>
{
    /// <summary>
    /// Records what the progress card showed while it was there: steps on the tiny model take tens of milliseconds, too
    /// quick for a locator to catch reliably, but every render reaches the DOM and the observer sees it.
    /// </summary>
    private const string WatchProgress = """
        () => {
          window.__ziSeen = { statuses: [], preview: false };
          const record = () => {
            for (const e of document.querySelectorAll('.zi-job-running .zi-job-status')) {
              const text = e.textContent.replace(/\s+/g, ' ').trim();
              if (window.__ziSeen.statuses.at(-1) !== text) window.__ziSeen.statuses.push(text);
            }
            if (document.querySelector('.zi-job-running .zi-job-preview img')) window.__ziSeen.preview = true;
          };
          new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
        }
        """;

    [Fact]
    public async Task ADesignerGeneratesOnTheSelfTestModelFindsThePicturesInHistoryReusesTheSettingsAndDeletesOne()
    {
        await using var lin = await server.NewPersonAsync();
        await lin.ArriveAsAsync("Lin");
        var page = lin.Page;

        // The self-test model is selected: the page says its pictures are noise.
        await Expect(page.Locator("#self-test-model")).ToContainTextAsync("its pictures are random noise");
        await Expect(page.Locator("#status-model")).ToContainTextAsync("Model ready");
        await Expect(page.Locator("#status-runtime")).ToContainTextAsync("Runs on CPU");

        await page.Locator("#prompt").FillAsync("a paper boat on a rainy street, cinematic light");
        await page.Locator("#count-2").ClickAsync();
        await page.Locator("#size-custom").ClickAsync();
        await page.Locator("#custom-width input").FillAsync("1000");
        await page.Locator("#custom-width input").PressAsync("Tab");
        await Expect(page.Locator("#snap-width")).ToContainTextAsync("1000 was changed to 1008");
        await page.Locator("#custom-width input").FillAsync("512");
        await page.Locator("#custom-width input").PressAsync("Tab");
        await page.Locator("#custom-height input").FillAsync("640");
        await page.Locator("#custom-height input").PressAsync("Tab");
        await Expect(page.Locator("#size-value")).ToContainTextAsync("512 × 640");

        await page.EvaluateAsync(WatchProgress);
        await page.Locator("#prompt").PressAsync("Control+Enter");
        await Expect(page.Locator("#results .zi-tile")).ToHaveCountAsync(2, new() { Timeout = 90_000 });

        var seen = await page.EvaluateAsync<JsonElement>("() => window.__ziSeen");
        var statuses = seen.GetProperty("statuses").EnumerateArray().Select(s => s.GetString()!).ToList();
        Assert.True(statuses.Any(s => Regex.IsMatch(s, @"^Picture [12] of 2 · step [1-8] of 8")), string.Join(" | ", statuses));
        Assert.True(seen.GetProperty("preview").GetBoolean(), "no live preview was shown while the job ran");

        // The grid shows the model's own pictures (noise), served from the output folder.
        var first = page.Locator("#results .zi-tile img").First;
        await Expect(first).ToHaveJSPropertyAsync("complete", true);
        Assert.True(await first.EvaluateAsync<int>("img => img.naturalWidth") > 0);
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
        await Expect(page.Locator("#detail-model")).ToHaveTextAsync("self-test-tiny");   // the model that made it, not a fixed name
        await lin.ScreenshotAsync("history-detail-1366x768");

        // The arrow keys walk the page: right opens the other picture (its own seed), left comes back.
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator("#detail-seed")).Not.ToHaveTextAsync(seed);
        await page.Keyboard.PressAsync("ArrowLeft");
        await Expect(page.Locator("#detail-seed")).ToHaveTextAsync(seed);
        await page.Locator("#detail-reuse").ClickAsync();
        await Expect(page.Locator("#prompt")).ToHaveValueAsync("a paper boat on a rainy street, cinematic light");
        await Expect(page.Locator("#seed-value input")).ToHaveValueAsync(seed);
        await Expect(page.Locator("#size-value")).ToContainTextAsync("512 × 640");

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
        await Expect(page.Locator("#model-is-self-test")).ToBeVisibleAsync();
        await Expect(page.Locator("#runtime-providers")).ToContainTextAsync("CPU");
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
}
