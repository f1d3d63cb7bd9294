using Bunit;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Pages;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>The zh-CN scan over the people-facing text: the taken-name warning, the sharing switch, the queue's shared
/// prompts, the selection bar's unstar and the About panel.</summary>
public partial class ComponentTests
{
    [Fact]
    public async Task TheTakenNameWarningIsInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "新人");
        await PeopleTests.MakePictureAsync(studio, new Caller("林薇"), "茶壶");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var picker = bunit.Render<NamePicker>();

        picker.Find("#display-name").Input("林薇");
        picker.Find("form").Submit();
        picker.WaitForElement("#name-taken");

        Assert.Contains("这里已经有人在用“林薇”这个名字", VisibleText(picker.Markup));
        AssertNoEnglish(picker.Markup, "taken-name warning");
    }

    [Fact]
    public async Task TheSharingSwitchAndRemovingFavouritesAreInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        var image = await PeopleTests.MakePictureAsync(studio, studio.User.Caller, "茶壶");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{image}'] .zi-tile-check input").Change(true);
        var text = VisibleText(page.WaitForElement("#selection-bar").OuterHtml + page.Find("#sharing").OuterHtml);
        Assert.Contains("取消收藏所选", text);
        Assert.Contains("与团队共享我的图片", text);
        AssertNoEnglish(page.Markup, "History with the sharing switch and a selection");

        page.Find("#share-pictures").Change(false);
        page.WaitForAssertion(() => Assert.Contains("只有你能看到", page.Find("#sharing").TextContent));
        AssertNoEnglish(page.Find("#sharing").OuterHtml, "sharing switch, off");
    }

    [Fact]
    public async Task ASharedPromptInTheQueueIsLabelledInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var entries = new[] { new QueueEntry(0, JobStatus.Running, false, null, null) { Prompt = "雪中的狐狸" }, new QueueEntry(1, JobStatus.Queued, false, null, null) };

        var html = await studio.RenderAsync<QueueOverview>(new Dictionary<string, object?> { ["Entries"] = entries });

        Assert.Contains("他人共享：雪中的狐狸", VisibleText(html));
        Assert.Contains("他人的任务，第 1 位", VisibleText(html));
        AssertNoEnglish(html, "queue with a shared prompt");
    }

    [Fact]
    public async Task TheAboutPanelIsInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);

        var html = await studio.RenderAsync<AboutPanel>();

        var text = VisibleText(html);
        Assert.Contains("版本", text);
        Assert.Contains("显卡", text);
        AssertNoEnglish(html, "About panel");
    }
}
