using Bunit;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>The usage page (MudBlazor) as the server first renders it.</summary>
public sealed class UsagePageTests
{
    [Fact]
    public async Task MyUsageShowsMyPicturesGpuTimeAndCostInBothLanguages()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Ann",
            settings: new Dictionary<string, string?> { ["ZImage:Usage:PricePerGpuHour"] = "10", ["ZImage:Usage:Currency"] = "CNY" });
        var jobs = studio.Get<IJobService>();
        var job = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "a fox", Width = 256, Height = 256, Steps = 2, Count = 2 } }, studio.User.Caller)).Job!;
        await Eventually.UntilAsync(() => jobs.GetAsync(job.Id, studio.User.Caller).Result?.Status == JobStatus.Succeeded, "job done");

        var html = await studio.RenderAsync<Usage>(inLayout: true);
        Assert.Contains("My usage", html);
        Assert.Contains("id=\"usage-people\"", html);
        Assert.Contains("data-user=\"Ann\"", html);
        Assert.Contains("CNY", html);
        Assert.Contains("id=\"usage-chart\"", html);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = System.Net.WebUtility.HtmlDecode(await studio.RenderAsync<Usage>(inLayout: true));
        Assert.Contains("我的用量", chinese);
        Assert.Contains("每天的 GPU 分钟数", chinese);
        Assert.DoesNotContain("GPU minutes per day", chinese);
    }

    [Fact]
    public async Task ThePeriodShowsWhichOneIsChosenAndTheChartLabelsOnlyEveryFewDays()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Ann");
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Usage>();

        // The chosen period is marked for the eye (the segmented style) and for a screen reader.
        Assert.Equal("true", page.Find("#usage-days-30").GetAttribute("aria-pressed"));
        Assert.Contains("active", page.Find("#usage-days-30").ClassList);
        Assert.Equal("false", page.Find("#usage-days-90").GetAttribute("aria-pressed"));
        page.Find("#usage-days-90").Click();
        page.WaitForAssertion(() => Assert.Equal("true", page.Find("#usage-days-90").GetAttribute("aria-pressed")));
        Assert.DoesNotContain("active", page.Find("#usage-days-30").ClassList);

        // 90 dates under the chart would print over each other: at most eight are labelled.
        var view = new ZImage.Web.Ui.Usage.UsageView(studio.Get<IUsageService>(), TimeProvider.System);
        await view.LoadAsync(studio.User.Caller, days: 90);
        Assert.Equal(90, view.Labels.Count);
        Assert.Equal(12, view.LabelInterval);
        Assert.True(view.Labels.Count / view.LabelInterval < ZImage.Web.Ui.Usage.UsageView.MaxAxisLabels + 1);
        await view.LoadAsync(studio.User.Caller, days: 7);
        Assert.Equal(1, view.LabelInterval);
    }

    [Fact]
    public async Task AnAdminSeesEveryonesUsageAndNarrowsItToOnePersonByName()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Root", isAdmin: true);
        var jobs = studio.Get<IJobService>();
        foreach (var (name, count) in new[] { ("Ann", 2), ("Bob", 1) })
        {
            var job = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "a fox", Width = 256, Height = 256, Steps = 2, Count = count } }, new Caller(name))).Job!;
            await Eventually.UntilAsync(() => jobs.GetAsync(job.Id, new Caller(name)).Result?.Status == JobStatus.Succeeded, $"{name}'s job done");
        }
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Usage>();

        Assert.Equal("用量与费用", page.Find("#usage-title").TextContent);
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("#usage-people tr[data-user]").Count));
        Assert.Equal("3", page.Find("#usage-pictures .mud-typography-h6").TextContent);

        page.Find("#usage-people tr[data-user=Bob] a").Click();
        page.WaitForAssertion(() => Assert.Contains("仅显示 Bob", page.Find("#usage-person").TextContent));
        Assert.Equal(["Bob"], page.FindAll("#usage-people tr[data-user]").Select(r => r.GetAttribute("data-user")));
        Assert.Equal("1", page.Find("#usage-pictures .mud-typography-h6").TextContent);
    }
}
