using static Microsoft.Playwright.Assertions;

namespace ZImage.Web.Tests.Browser;

/// <summary>Picking style presets on the Generate page in a real browser: the words follow the prompt's language.</summary>
[Collection(nameof(StudioBrowserTests))]
[Trait("Category", "Browser")]
public sealed class StyleBrowserTests(StudioServer server) : IClassFixture<StudioServer>
{
    private static StylePreset Preset(string id) => StylePreset.BuiltIn.Single(p => p.Id == id);

    [Fact]
    public async Task AChinesePromptOnTheEnglishPageGetsChineseWordsAndSwitchingStylesSwapsThem()
    {
        await using var mei = await server.NewPersonAsync();
        await mei.ArriveAsAsync("Mei");
        var prompt = mei.Page.Locator("#prompt");
        var avoid = mei.Page.Locator("#negative-prompt");
        await prompt.FillAsync("雨后的江南小镇");

        await mei.Page.Locator("#style").SelectOptionAsync("ink");
        await Expect(prompt).ToHaveValueAsync($"雨后的江南小镇，{Preset("ink").PromptZh}");
        await Expect(avoid).ToHaveValueAsync(Preset("ink").NegativeZh);
        await mei.Page.Locator("#style").SelectOptionAsync("watercolour");
        await Expect(prompt).ToHaveValueAsync($"雨后的江南小镇，{Preset("watercolour").PromptZh}");
        await Expect(avoid).ToHaveValueAsync(Preset("watercolour").NegativeZh);
        await mei.Page.Locator("#style").SelectOptionAsync("");
        await Expect(prompt).ToHaveValueAsync("雨后的江南小镇");
        await Expect(avoid).ToHaveValueAsync("");
        Assert.Empty(mei.Errors);
    }

    [Fact]
    public async Task OnTheChinesePageAnEmptyPromptGetsChineseWordsAndAnEnglishPromptEnglishOnes()
    {
        await using var lin = await server.NewPersonAsync(locale: "zh-CN");
        await lin.ArriveAsAsync("Lin");
        await lin.Page.Locator("#lang-zh").ClickAsync();
        await Expect(lin.Page.Locator("html")).ToHaveAttributeAsync("lang", "zh-CN");
        var prompt = lin.Page.Locator("#prompt");
        await prompt.FillAsync("");

        await lin.Page.Locator("#style").SelectOptionAsync("product");
        await Expect(prompt).ToHaveValueAsync(Preset("product").PromptZh);
        await lin.Page.Locator("#style").SelectOptionAsync("");
        await prompt.FillAsync("a ceramic mug");
        await lin.Page.Locator("#style").SelectOptionAsync("product");
        await Expect(prompt).ToHaveValueAsync($"a ceramic mug, {Preset("product").Prompt}");
        await Expect(lin.Page.Locator("#negative-prompt")).ToHaveValueAsync(Preset("product").Negative);
        Assert.Empty(lin.Errors);
    }
}
