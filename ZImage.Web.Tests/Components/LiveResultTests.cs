using Bunit;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;

namespace ZImage.Web.Tests.Components;

/// <summary>The Generate page while a job runs: the large live preview, and each picture as soon as it is saved.</summary>
public sealed class LiveResultTests
{
    [Fact]
    public async Task PictureOneOfAFourPictureJobShowsOnTheGeneratePageWhileTheJobStillRuns()
    {
        await using var studio = await TestStudio.StartAsync();
        await studio.Pipeline.HoldStepsAsync();
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Generate>();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "four foxes";
        session.Form.Count = 4;
        session.Form.Steps = 2;
        Assert.True(await session.SubmitAsync());

        studio.Pipeline.ReleaseSteps(2); // picture 1's two steps; picture 2 waits for its first
        await Eventually.UntilAsync(() => session.Jobs is [{ ImageIds.Count: 1 }], "picture 1 to be saved");
        var pictureOne = session.Jobs[0].ImageIds[0];

        page.WaitForAssertion(() =>
        {
            var live = page.Find("#live-result");
            Assert.Equal("Picture 1 of 4 · step 2 of 2", live.QuerySelector(".zi-live-caption")!.TextContent.Trim());
            Assert.StartsWith("data:image/bmp;base64,", live.QuerySelector("#live-preview")!.GetAttribute("src"));
            // The frame takes the picture's shape (the form's default size here).
            Assert.Contains($"--zi-live-aspect:{session.Jobs[0].Request.Width} / {session.Jobs[0].Request.Height}", live.GetAttribute("style"));
            var first = live.QuerySelector("img[data-picture='1']")!;
            Assert.Equal($"ui/images/{pictureOne}/thumb", first.GetAttribute("src"));
            Assert.Equal(3, live.QuerySelectorAll(".zi-live-slot").Length); // pictures 2-4 not made yet
            // And among the latest results, with its own card.
            Assert.NotNull(page.Find($"#results [data-image='{pictureOne}']"));
        });
        Assert.Equal(JobStatus.Running, session.Jobs[0].Status);

        studio.Pipeline.Unhold();
        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Succeeded }], "the job to end");
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("#live-result")));
        page.WaitForAssertion(() => Assert.Equal(4, page.FindAll("#results [data-image]").Count));
    }
}
