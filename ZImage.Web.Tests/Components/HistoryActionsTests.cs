using Bunit;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

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

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-favourite-button").Click();
        await Eventually.UntilAsync(() => Stored(studio, images[0])?.Favourite == true, "a favourite in the store");

        page.WaitForAssertion(() => Assert.Equal("true", page.Find($"[data-image='{images[0]}'] .zi-tile-favourite-button").GetAttribute("aria-pressed")));
        page.Find($"[data-image='{images[0]}'] .zi-tile-favourite-button").Click();
        await Eventually.UntilAsync(() => Stored(studio, images[0])?.Favourite == false, "no longer a favourite in the store");
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
        page.WaitForElement("#favourite-selected").Click();

        await Eventually.UntilAsync(() => Stored(studio, images[1])?.Favourite == true, "selected marked favourite");
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

    [Fact]
    public async Task TheDetailViewShowsTheSameTime()
    {
        await using var studio = await TestStudio.StartAsync();
        var (job, images) = await MakePicturesAsync(studio, "a quick hare", 1);
        var expected = job.GpuTime.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{images[0]}'] .zi-tile-open").Click();

        page.WaitForAssertion(() => Assert.Equal(expected, page.Find("#detail-time .zi-picture-time").TextContent.Trim()));
    }

    [Fact]
    public async Task TheCardActionsAndBulkActionsSpeakChinese()
    {
        await using var studio = await TestStudio.StartAsync();
        var (_, images) = await MakePicturesAsync(studio, "a paper crane", 1);
        studio.Localizer.SetLanguage(ZImage.Web.Ui.I18n.UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        var card = $"[data-image='{images[0]}']";
        Assert.Equal("收藏", page.WaitForElement($"{card} .zi-tile-favourite-button").GetAttribute("aria-label"));
        Assert.Equal("下载", page.Find($"{card} .zi-tile-download").GetAttribute("aria-label"));
        Assert.Equal("沿用这些设置", page.Find($"{card} .zi-tile-reuse").GetAttribute("aria-label"));
        Assert.Equal("删除", page.Find($"{card} .zi-tile-delete").GetAttribute("aria-label"));
        Assert.Contains("秒", page.Find($"{card} .zi-picture-time").TextContent);
        page.Find($"{card} .zi-tile-check input").Change(true);
        page.WaitForElement("#delete-selected").Click();
        var bar = page.WaitForElement("#selection-bar").TextContent;
        Assert.Contains("收藏所选", bar);
        Assert.Contains("确定永久删除 1 张图片", bar);
        Assert.DoesNotContain("Delete", bar);
        Assert.DoesNotContain("favourites", bar);
    }

    [Fact]
    public async Task TheDetailNamesThePicturesStyleInThePagesLanguage()
    {
        await using var studio = await TestStudio.StartAsync();
        var jobs = studio.Get<IJobService>();
        var submitted = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "a pavilion by a lake", Width = 256, Height = 256, Steps = 2, Style = "ink" } }, studio.User.Caller)).Job!;
        await Eventually.UntilAsync(() => jobs.GetAsync(submitted.Id, studio.User.Caller).Result?.Status == JobStatus.Succeeded, "job done");
        var image = Stored(studio, (await jobs.GetAsync(submitted.Id, studio.User.Caller))!.ImageIds[0])!;
        await using var bunit = studio.Bunit();

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var page = bunit.Render<ZImage.Web.Components.Shared.ImageDetail>(p => p.Add(d => d.Image, image));
        Assert.Equal(("国风水墨", "ink"), (page.Find("#detail-style").TextContent, page.Find("#detail-style").GetAttribute("data-style")));
        studio.Localizer.SetLanguage(UiLanguage.English);
        page.Render();
        Assert.Equal("Ink painting (Guofeng)", page.Find("#detail-style").TextContent);

        // A style no preset has any more (a team preset removed since) still says what was used: its id.
        var gone = image with { Parameters = image.Parameters with { Style = "spring-sale" } };
        Assert.Equal("spring-sale", bunit.Render<ZImage.Web.Components.Shared.ImageDetail>(p => p.Add(d => d.Image, gone)).Find("#detail-style").TextContent);
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
