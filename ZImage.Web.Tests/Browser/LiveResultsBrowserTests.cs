using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ZImage.Engine.Jobs;
using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>
/// A running job in a real browser: picture 1 of 4 is on the page while picture 2 is made, and the live preview is
/// large, at the picture's aspect ratio, on a laptop and on a phone. The fake pipeline's steps are held and released
/// by the test, so "before the job ends" is a fact, not a race.
/// </summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class LiveResultsBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    /// <summary>Set ZIMAGE_SCREENSHOTS to a folder (docs/screenshots) to keep the picture; otherwise the artifacts folder.</summary>
    private static string ScreenshotFolder =>
        Environment.GetEnvironmentVariable("ZIMAGE_SCREENSHOTS") is { Length: > 0 } dir ? dir : StudioServer.ArtifactsFolder;

    [Fact]
    public async Task PictureOneOfAFourPictureJobIsVisibleBeforeTheJobEnds()
    {
        await server.Pipeline.HoldStepsAsync();
        try
        {
            await using var gus = await server.NewPersonAsync(1366, 768);
            await gus.ArriveAsAsync("Gus");
            await gus.Page.Locator("#prompt").FillAsync("a row of paper lanterns at dusk");
            await gus.Page.Locator(".zi-aspect[title='1280 × 720']").ClickAsync();
            await gus.Page.Locator("#count-4").ClickAsync();
            await gus.Page.Locator("#generate").ClickAsync();

            var jobs = server.Services.GetRequiredService<IJobService>();
            var caller = new Caller("Gus");
            JobSnapshot? job = null;
            await Kit.Eventually.UntilAsync(() => (job = jobs.ListMineAsync(caller, 5).Result.FirstOrDefault()) is { Status: JobStatus.Running }, "Gus's job to start");
            Assert.Equal((1280, 720, 4), (job!.Request.Width, job.Request.Height, job.Request.Count));

            // Picture 1's steps, and the first step of picture 2: the job is still running when picture 1 shows.
            server.Pipeline.ReleaseSteps(job.Request.Steps + 1);
            var first = gus.Page.Locator("#live-result img[data-picture='1']");
            await Expect(first).ToBeVisibleAsync(new() { Timeout = 20_000 });
            await Expect(gus.Page.Locator("#results .zi-tile")).ToHaveCountAsync(1);
            await Expect(gus.Page.Locator(".zi-live-caption")).ToHaveTextAsync($"Picture 2 of 4 · step 1 of {job.Request.Steps}");
            Assert.True(await first.EvaluateAsync<bool>("img => img.complete && img.naturalWidth > 0"), "picture 1's thumbnail did not load");
            Assert.Equal(JobStatus.Running, (await jobs.GetAsync(job.Id, caller))!.Status);
            await Expect(gus.Page.Locator(".zi-job-running")).ToBeVisibleAsync();

            // Large, at the picture's 16:9, and wholly on screen.
            var preview = (await gus.Page.Locator("#live-preview").BoundingBoxAsync())!;
            Assert.True(preview.Width >= 600, $"the preview is {preview.Width:0} px wide at 1366×768");
            Assert.Equal(1280 / 720.0, preview.Width / preview.Height, 1);
            Assert.True(preview.Y >= 0 && preview.Y + preview.Height <= 768 && preview.X + preview.Width <= 1366, $"the preview runs off the screen: {preview.X:0},{preview.Y:0} {preview.Width:0}×{preview.Height:0}");
            await Expect(gus.Page.Locator(".zi-job-running")).ToBeInViewportAsync();
            Directory.CreateDirectory(ScreenshotFolder);
            // JPEG: the stand-in's preview is coloured noise, which no PNG of this size keeps under 200 KB.
            var file = Path.Combine(ScreenshotFolder, "generate-live-1366x768-en-light.jpg");
            await gus.Page.ScreenshotAsync(new PageScreenshotOptions { Path = file, Type = ScreenshotType.Jpeg, Quality = 80 });
            Assert.True(new FileInfo(file).Length < 200_000, $"{Path.GetFileName(file)} is {new FileInfo(file).Length} bytes");

            // The same person on a phone sees the running job the same way, one column wide, with no sideways scroll.
            await using var phone = await server.NewPersonAsync(390, 844);
            await phone.Context.AddCookiesAsync([new Cookie { Name = "zi-user", Value = "Gus", Url = server.BaseUrl }]);
            await phone.OpenAsync("/");
            await Expect(phone.Page.Locator("#live-result img[data-picture='1']")).ToBeVisibleAsync();
            var small = (await phone.Page.Locator("#live-result .zi-live-frame").BoundingBoxAsync())!;
            Assert.True(small.Width >= 300 && small.X >= 0 && small.X + small.Width <= 390, $"the phone's preview frame is {small.Width:0} px at x {small.X:0}");
            Assert.True(await phone.Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the phone page scrolls sideways");

            server.Pipeline.Unhold();
            await Expect(gus.Page.Locator("#results .zi-tile")).ToHaveCountAsync(4, new() { Timeout = 20_000 });
            await Expect(gus.Page.Locator("#live-result")).ToHaveCountAsync(0);
            Assert.Empty(gus.Errors);
            Assert.Empty(phone.Errors);
        }
        finally
        {
            server.Pipeline.Unhold();
        }
    }
}
