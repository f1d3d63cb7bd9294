using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ZImage.Engine.Jobs;
using ZImage.Web.Tests.Kit;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>The Generate tab's MudBlazor pieces in a real browser: one job per double-click, the PNG file picker, the
/// remembered Advanced section and the snackbar when a job ends.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class GenerateBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    [Fact]
    public async Task ADoubleClickOnGenerateMakesOneJobAndItsEndIsAnnouncedAndCountedInABackgroundTabsTitle()
    {
        await using var dee = await server.NewPersonAsync();
        await dee.ArriveAsAsync("Dee");
        await dee.Page.Locator("#prompt").FillAsync("a kite over the dunes");
        await dee.Page.Locator("#count-1").ClickAsync();

        // Dee looks at another tab while the picture is made: the finished job counts up in this tab's title.
        await dee.Page.EvaluateAsync("() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })");
        await dee.Page.Locator("#generate").DblClickAsync();

        await Expect(dee.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await Expect(dee.Page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex(@"^\(1\) Generate"));
        await Expect(dee.Page.Locator(".mud-snackbar")).ToContainTextAsync("Your pictures are ready: a kite over the dunes");
        var caller = new Caller("Dee");
        var jobs = await server.Services.GetRequiredService<IJobService>().ListMineAsync(caller, 20);
        Assert.Single(jobs);
        Assert.Empty(dee.Errors);
    }

    [Fact]
    public async Task ThePngFilePickerLoadsSettingsAndTheAdvancedSectionIsRemembered()
    {
        var file = Path.Combine(Path.GetTempPath(), $"zimage-pick-{Guid.NewGuid():N}.png");
        var settings = new ZImage.Engine.Imaging.ImageSettings { Request = new() { Prompt = "海边的灯塔", Width = 1280, Height = 720, Steps = 6, Cfg = 1.5f, Seed = 4242 } };
        await File.WriteAllBytesAsync(file, ZImage.Engine.Imaging.GenerationPng.Encode(FakePipeline.Noise(32, 18, 1), settings));
        try
        {
            await using var eve = await server.NewPersonAsync(390, 844);
            await eve.ArriveAsAsync("Eve");

            var chooser = await eve.Page.RunAndWaitForFileChooserAsync(() => eve.Page.Locator("#png-pick").ClickAsync());
            await chooser.SetFilesAsync(file);

            await Expect(eve.Page.Locator("#png-drop-result")).ToContainTextAsync("Settings loaded from the picture.");
            await Expect(eve.Page.Locator("#png-drop-result")).ToBeInViewportAsync();
            await Expect(eve.Page.Locator("#prompt")).ToHaveValueAsync("海边的灯塔");
            await Expect(eve.Page.Locator("#size-value")).ToContainTextAsync("1280 × 720");

            // Steps live in the Advanced section: closed at first, opened once, and still open after a reload.
            await Expect(eve.Page.Locator("#steps-value")).Not.ToBeVisibleAsync();
            await eve.Page.Locator("#advanced .mud-expand-panel-header").ClickAsync();
            await Expect(eve.Page.Locator("#steps-value")).ToHaveTextAsync("6");
            await eve.OpenAsync("/");
            await Expect(eve.Page.Locator("#steps-value")).ToBeVisibleAsync();
            Assert.Empty(eve.Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TheNameChipChangesMyNameAndNewPicturesAreKeptUnderIt()
    {
        await using var fay = await server.NewPersonAsync(390, 844);
        await fay.ArriveAsAsync("Fay");

        await fay.Page.Locator("#user-name").ClickAsync();
        await Expect(fay.Page.Locator("#display-name")).ToHaveValueAsync("Fay");
        await fay.Page.Locator("#display-name").FillAsync("Fay Lin");
        await fay.Page.Locator("#name-continue").ClickAsync();
        await Expect(fay.Page.Locator("#user-name")).ToContainTextAsync("Fay Lin");

        await fay.Page.Locator("#prompt").FillAsync("a lantern by the river");
        await fay.Page.Locator("#count-1").ClickAsync();
        await fay.Page.Locator("#generate").ClickAsync();
        await Expect(fay.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        Assert.Single(await server.Services.GetRequiredService<IJobService>().ListMineAsync(new Caller("Fay Lin"), 20));

        // The browser remembers the new name.
        await fay.OpenAsync("/");
        await Expect(fay.Page.Locator("#user-name")).ToContainTextAsync("Fay Lin");
        Assert.Empty(fay.Errors);
    }
}
