using Bunit;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;

namespace ZImage.Web.Tests.Components;

/// <summary>The History cards' own actions, the bulk actions on a selection, and the time each picture took.</summary>
public sealed class HistoryActionsTests
{
    [Fact]
    public async Task TheCardsStarTogglesTheStoredFavourite()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "a red kite", 1);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-star-button").Click();
        await Eventually.UntilAsync(() => Stored(studio, images[0])?.Favourite == true, "starred in the store");

        page.WaitForAssertion(() => Assert.Equal("true", page.Find($"[data-image='{images[0]}'] .zi-tile-star-button").GetAttribute("aria-pressed")));
        page.Find($"[data-image='{images[0]}'] .zi-tile-star-button").Click();
        await Eventually.UntilAsync(() => Stored(studio, images[0])?.Favourite == false, "unstarred in the store");
    }

    [Fact]
    public async Task TheCardsDeleteRemovesThePictureOnlyAfterConfirmation()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "a blue boat", 2);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-delete").Click();
        Assert.NotNull(Stored(studio, images[0]));
        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-delete-yes").Click();

        await Eventually.UntilAsync(() => Stored(studio, images[0]) is null, "deleted from the store");
        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"[data-image='{images[0]}']")));
        Assert.NotNull(Stored(studio, images[1]));
    }

    [Fact]
    public async Task TheCardsReuseLoadsItsSettingsOnGenerate()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "a green lantern", 1);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-reuse").Click();

        var form = studio.Get<GenerateSession>().Form;
        Assert.Equal("a green lantern", form.Prompt);
        Assert.Equal(Stored(studio, images[0])!.Seed, form.FixedSeed);
    }

    [Fact]
    public async Task BulkDeleteRemovesExactlyTheSelectedPictures()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "three pears", 3);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-check input").Change(true);
        page.WaitForElement($"[data-image='{images[2]}'] .zi-tile-check input").Change(true);
        page.WaitForElement("#delete-selected").Click();
        Assert.All(images, id => Assert.NotNull(Stored(studio, id)));
        page.WaitForElement("#bulk-delete-yes").Click();

        await Eventually.UntilAsync(() => Stored(studio, images[0]) is null && Stored(studio, images[2]) is null, "both selected deleted");
        Assert.NotNull(Stored(studio, images[1]));
    }

    [Fact]
    public async Task BulkStarStarsExactlyTheSelectedPictures()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "two plums", 2);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[1]}'] .zi-tile-check input").Change(true);
        page.WaitForElement("#star-selected").Click();

        await Eventually.UntilAsync(() => Stored(studio, images[1])?.Favourite == true, "selected starred");
        Assert.False(Stored(studio, images[0])!.Favourite);
    }

    [Fact]
    public async Task EachCardShowsItsShareOfTheStoredJobGpuTime()
    {
        await using var studio = await TestStudio.StartAsync();
        var (job, images) = await MakePicturesAsync(studio, "a slow snail", 2);
        Assert.True(job.GpuTime > TimeSpan.Zero, "the job's GPU time is stored");
        var expected = (job.GpuTime / 2).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForAssertion(() => Assert.Equal(expected, page.Find($"[data-image='{images[0]}'] .zi-picture-time").TextContent.Trim()));
        var tip = page.Find($"[data-image='{images[0]}'] .zi-picture-time").GetAttribute("aria-label");
        Assert.Contains("divided by its 2 pictures", tip);
    }

    private static ImageRecord? Stored(TestStudio studio, long id) => studio.Get<IHistoryService>().GetImageAsync(id).Result;

    private static async Task<(JobSnapshot Job, IReadOnlyList<long> Images)> MakePicturesAsync(TestStudio studio, string prompt, int count)
    {
        var jobs = studio.Get<IJobService>();
        var submitted = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = prompt, Width = 256, Height = 256, Steps = 2, Count = count } }, studio.User.Caller)).Job!;
        await Eventually.UntilAsync(() => jobs.GetAsync(submitted.Id, studio.User.Caller).Result?.Status == JobStatus.Succeeded, "job done");
        var job = (await jobs.GetAsync(submitted.Id, studio.User.Caller))!;
        return (job, job.ImageIds);
    }
}
