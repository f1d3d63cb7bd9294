using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>Settings → Team styles: the optional Chinese words have their own labelled boxes in both languages.</summary>
public partial class ComponentTests
{
    [Fact]
    public async Task ATeamStylesChineseWordsHaveTheirOwnLabelledBoxesInBothLanguages()
    {
        // The team's list as Settings saved it in zimage.settings.json.
        await using var studio = await TestStudio.StartAsync(userName: "林薇", settings: new Dictionary<string, string?>
        {
            ["ZImage:Web:StylePresets:0:Id"] = "lantern",
            ["ZImage:Web:StylePresets:0:NameEn"] = "Lantern festival",
            ["ZImage:Web:StylePresets:0:NameZh"] = "元宵",
            ["ZImage:Web:StylePresets:0:Prompt"] = "red paper lanterns",
            ["ZImage:Web:StylePresets:0:PromptZh"] = "夜色中点亮的红纸灯笼",
            ["ZImage:Web:StylePresets:0:NegativeZh"] = "白天",
        });

        var english = VisibleText(Decoded(await studio.RenderAsync<Settings>()));
        Assert.Contains("Added to Chinese prompts (optional; empty: the words above)", english);
        Assert.Contains("Added to the avoid box of Chinese prompts (optional)", english);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var chinese = Decoded(await studio.RenderAsync<Settings>());
        Assert.Matches("添加到中文描述（可选；留空则用上面的文字）\\s*<textarea[^>]*style-prompt-zh[^>]*value=\"夜色中点亮的红纸灯笼\"", chinese);
        Assert.Matches("中文描述时添加到“不希望出现”（可选）\\s*<textarea[^>]*style-negative-zh[^>]*value=\"白天\"", chinese);
        Assert.DoesNotContain("Added to Chinese prompts", chinese);
    }
}
