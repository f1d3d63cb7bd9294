using System.Text.RegularExpressions;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Ui;

public partial class I18nTests
{
    /// <summary>Names and units that are the same in both languages.</summary>
    private static readonly HashSet<string> SameInBoth = [];

    [Fact]
    public void EveryLabelHasBothLanguagesAndTheyDiffer()
    {
        foreach (var key in UiText.Keys)
        {
            var (en, zh) = UiText.Entry(key);
            Assert.False(string.IsNullOrWhiteSpace(en), $"{key}: English is empty");
            Assert.False(string.IsNullOrWhiteSpace(zh), $"{key}: Chinese is empty");
            if (!SameInBoth.Contains(key))
                Assert.True(en != zh, $"{key}: Chinese is the English text");
            Assert.True(CjkPattern().IsMatch(zh), $"{key}: Chinese text has no Chinese characters: {zh}");
        }
    }

    [Fact]
    public void PlaceholdersAreTheSameInBothLanguages()
    {
        foreach (var key in UiText.Keys)
        {
            var (en, zh) = UiText.Entry(key);
            var enHoles = PlaceholderPattern().Matches(en).Select(m => m.Value).Order();
            var zhHoles = PlaceholderPattern().Matches(zh).Select(m => m.Value).Order();
            Assert.True(enHoles.SequenceEqual(zhHoles), $"{key}: placeholders differ between '{en}' and '{zh}'");
        }
    }

    [Fact]
    public void SwitchingLanguageTellsListenersAndChangesLabels()
    {
        var localizer = new Localizer();
        var changes = 0;
        localizer.Changed += () => changes++;
        Assert.Equal("Generate", localizer["nav.generate"]);
        localizer.SetLanguage(UiLanguage.Chinese);
        Assert.Equal("生成", localizer["nav.generate"]);
        Assert.Equal(1, changes);
        localizer.SetLanguage(UiLanguage.Chinese);
        Assert.Equal(1, changes);
    }

    [Theory]
    [InlineData("zh-CN", UiLanguage.Chinese)]
    [InlineData("zh", UiLanguage.Chinese)]
    [InlineData("en-GB", UiLanguage.English)]
    [InlineData(null, UiLanguage.English)]
    [InlineData("fr", UiLanguage.English)]
    public void CookieAndBrowserCodesPickALanguage(string? code, UiLanguage expected) => Assert.Equal(expected, UiLanguages.Parse(code));

    [Fact]
    public void AMissingKeyShowsItselfInsteadOfFailing() => Assert.Equal("[no.such.key]", new Localizer()["no.such.key"]);

    [GeneratedRegex(@"\{\d+\}")]
    private static partial Regex PlaceholderPattern();

    [GeneratedRegex(@"[\u4e00-\u9fff]")]
    private static partial Regex CjkPattern();
}
