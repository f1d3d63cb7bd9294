using ZImage.Engine.History;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Core;

/// <summary>Style presets: what they add to the prompt, and that the chosen one travels with the picture.</summary>
public sealed class StylePresetTests
{
    private static StylePreset Preset(string id) => StylePreset.BuiltIn.Single(p => p.Id == id);

    [Fact]
    public void TheBuiltInSetCoversTheAskedLooksWithBothNamesAndValidFragments()
    {
        string[] wanted = ["photo", "product", "flat", "anime", "watercolour", "ink", "cinematic", "3d", "retro-film"];
        Assert.Equal(wanted, StylePreset.BuiltIn.Select(p => p.Id));
        Assert.All(StylePreset.BuiltIn, p =>
        {
            Assert.Empty(p.Validate());
            Assert.NotEqual(p.NameEn, p.NameZh);
            Assert.NotEmpty(p.Negative);
        });
        Assert.Equal("国风水墨", Preset("ink").NameZh);
    }

    [Fact]
    public void ApplyingAddsBothFragmentsOnceAndRemovingTakesThemOutAgain()
    {
        var anime = Preset("anime");
        var (prompt, negative) = anime.Apply("a girl reading under a cherry tree", "");
        Assert.Equal($"a girl reading under a cherry tree, {anime.Prompt}", prompt);
        Assert.Equal(anime.Negative, negative);
        Assert.Equal((prompt, negative), anime.Apply(prompt, negative));

        var (back, backNegative) = anime.Remove(prompt, negative);
        Assert.Equal(("a girl reading under a cherry tree", ""), (back, backNegative));
    }

    [Fact]
    public void EveryBuiltInLookAlsoHasItsOwnChineseWords()
    {
        Assert.All(StylePreset.BuiltIn, p =>
        {
            Assert.Equal(PromptLanguage.Chinese, StylePreset.LanguageOf(p.PromptZh, PromptLanguage.English));
            Assert.Equal(PromptLanguage.Chinese, StylePreset.LanguageOf(p.NegativeZh, PromptLanguage.English));
            Assert.Equal(PromptLanguage.English, StylePreset.LanguageOf(p.Prompt, PromptLanguage.Chinese));
        });
        // Written as a description of the look, not a gloss: the ink painting names its paper, ink tones and seal.
        Assert.All(["宣纸", "焦墨", "淡墨", "留白", "印章"], word => Assert.Contains(word, Preset("ink").PromptZh));
    }

    [Fact]
    public void AChinesePromptGetsTheChineseWordsInBothBoxesJoinedByAFullWidthComma()
    {
        var ink = Preset("ink");
        var (prompt, negative) = ink.Apply("一只白鹤立在松枝上", "模糊");

        Assert.Equal($"一只白鹤立在松枝上，{ink.PromptZh}", prompt);
        Assert.Equal($"模糊，{ink.NegativeZh}", negative);
        Assert.DoesNotContain(ink.Prompt, prompt);
    }

    [Fact]
    public void AnEnglishPromptGetsTheEnglishWordsEvenWhenThePageIsChinese()
    {
        var ink = Preset("ink");
        Assert.Equal(($"a crane on a pine branch, {ink.Prompt}", ink.Negative), ink.Apply("a crane on a pine branch", "", PromptLanguage.Chinese));
    }

    [Theory]
    [InlineData("一只猫坐在MacBook旁边", PromptLanguage.Chinese)]
    [InlineData("a poster with the character 福 in the middle", PromptLanguage.English)]
    [InlineData("iPhone 16 产品宣传图，白色背景", PromptLanguage.Chinese)]
    [InlineData("Café au lait in a glass", PromptLanguage.English)]
    public void ThePromptsOwnTextPicksTheLanguage(string prompt, PromptLanguage expected)
    {
        Assert.Equal(expected, StylePreset.LanguageOf(prompt, PromptLanguage.English));
        Assert.Equal(expected, StylePreset.LanguageOf(prompt, PromptLanguage.Chinese));
    }

    [Theory]
    [InlineData("", PromptLanguage.Chinese)]
    [InlineData("  ", PromptLanguage.English)]
    [InlineData("2026 · 16:9", PromptLanguage.Chinese)]
    public void APromptWithoutWordsTakesTheCallersLanguage(string prompt, PromptLanguage whenEmpty)
    {
        Assert.Equal(whenEmpty, StylePreset.LanguageOf(prompt, whenEmpty));
        var photo = Preset("photo");
        Assert.EndsWith(photo.Fragments(whenEmpty).Prompt, photo.Apply(prompt, "", whenEmpty).Prompt);
    }

    [Theory]
    [InlineData("一只白鹤立在松枝上")]
    [InlineData("a crane on a pine branch")]
    [InlineData("")]
    public void ApplyingTwiceChangesNothingInEitherLanguage(string start)
    {
        foreach (var whenEmpty in (PromptLanguage[])[PromptLanguage.English, PromptLanguage.Chinese])
        {
            var once = Preset("cinematic").Apply(start, "", whenEmpty);
            Assert.Equal(once, Preset("cinematic").Apply(once.Prompt, once.Negative, whenEmpty));
        }
    }

    [Fact]
    public void ApplyingWhereTheOtherLanguagesWordsAreAlreadyThereChangesNothing()
    {
        var watercolour = Preset("watercolour");
        // Picked on an empty prompt on the English page, then the person wrote Chinese in front of the words.
        var english = ($"一只狐狸，{watercolour.Prompt}", watercolour.Negative);
        Assert.Equal(english, watercolour.Apply(english.Item1, english.Item2));
        var chinese = ($"a fox, {watercolour.PromptZh}", watercolour.NegativeZh);
        Assert.Equal(chinese, watercolour.Apply(chinese.Item1, chinese.Item2));
    }

    [Fact]
    public void RemovingTakesOutWhicheverLanguagesWordsAreThere()
    {
        var anime = Preset("anime");
        var chinese = anime.Apply("樱花树下看书的女孩", "");
        Assert.Equal(("樱花树下看书的女孩", ""), anime.Remove(chinese.Prompt, chinese.Negative));
        var english = anime.Apply("a girl reading under a cherry tree", "");
        Assert.Equal(("a girl reading under a cherry tree", ""), anime.Remove(english.Prompt, english.Negative));
    }

    [Fact]
    public void ATeamPresetWithoutChineseWordsGivesChinesePromptsItsEnglishOnes()
    {
        var sale = new StylePreset { Id = "spring-sale", NameEn = "Spring sale", NameZh = "春季促销", Prompt = "pastel spring colours", Negative = "winter", IsTeam = true };
        Assert.Equal(("一个帆布包, pastel spring colours", "winter"), sale.Apply("一个帆布包", ""));

        var withChinese = sale with { PromptZh = "春天的粉彩色调，飘落的樱花花瓣" };
        // Only the Chinese prompt words were given: the avoid box still gets the English ones rather than nothing.
        Assert.Equal(("一个帆布包，春天的粉彩色调，飘落的樱花花瓣", "winter"), withChinese.Apply("一个帆布包", ""));
        Assert.Equal(("a tote bag, pastel spring colours", "winter"), withChinese.Apply("a tote bag", ""));
        Assert.Equal(("一个帆布包", ""), withChinese.Remove("一个帆布包，春天的粉彩色调，飘落的樱花花瓣", "winter"));
    }

    [Fact]
    public void OverlongChineseWordsAreNamedByTheirFieldWhileTheEnglishPromptStaysRequired()
    {
        var tooLong = new string('字', StylePreset.MaxFragmentLength + 1);
        var problems = new StylePreset { Id = "banner", NameEn = "Banner", NameZh = "横幅", Prompt = "", PromptZh = tooLong, NegativeZh = tooLong }.Validate();
        Assert.Equal(["prompt", "promptZh", "negativeZh"], problems.Select(p => p.Field));
        Assert.Equal(new object[] { 0, StylePreset.MaxFragmentLength }, problems.Single(p => p.Field == "promptZh").Args);
        Assert.Contains("promptZh must be at most 1000 characters", problems.Single(p => p.Field == "promptZh").Message);
    }

    [Fact]
    public void ATeamPresetWithABadIdOrEmptyPromptNamesTheFields()
    {
        var problems = new StylePreset { Id = "Big Banner", NameEn = "Banner", NameZh = "横幅", Prompt = " " }.Validate();
        Assert.Equal(["id", "prompt"], problems.Select(p => p.Field));
    }

    [Fact]
    public void TheStyleRoundTripsThroughBothPngChunks()
    {
        var request = new GenerationRequest { Prompt = "a teapot", Style = "product", Seed = 5, Width = 512, Height = 512 };
        var png = PngCodec.Decode(GenerationPng.Encode(new RgbImage(16, 16, new byte[16 * 16 * 3]), ImageSettings.FromRequest(request, 0, "Z-Image-Turbo", 3)));

        Assert.Equal("product", ImageSettings.FromJson(png.FindText(GenerationPng.SettingsKeyword)!).Request.Style);
        var a1111 = png.FindText(GenerationPng.ParametersKeyword)!;
        Assert.Contains("Style: product", a1111);
        var parsed = GenerationParameters.ParseA1111(a1111);
        Assert.Equal("product", parsed.Style);
        Assert.Equal("product", parsed.ApplyTo(GenerationRequest.Defaults).Style);
    }

    [Fact]
    public void APictureWithoutAStyleWritesNoStyleKeyAndReadsAsNone()
    {
        var settings = ImageSettings.FromRequest(new GenerationRequest { Prompt = "x" }, 0, "Z-Image-Turbo", 3);
        Assert.DoesNotContain("Style:", settings.ToParameters().ToA1111Text());
        Assert.Equal("", ImageSettings.FromJson("""{"format":1,"prompt":"x"}""").Request.Style);
    }

    [Fact]
    public async Task HistoryAndTheJobRecordKeepTheStyle()
    {
        await using var host = await JobsHost.StartAsync(JobsHost.NewRoot());
        await host.StartWorkerAsync();
        var result = await host.Jobs.SubmitAsync(new JobRequest
        {
            Settings = new() { Prompt = "ink mountains", Style = "ink", Width = 512, Height = 512, Steps = 1, Seed = 3 },
            SeedPolicy = SeedPolicy.Fixed,
        }, new Caller("ann"));
        await host.UntilFinalAsync(result.Job!.Id);

        Assert.Equal("ink", (await host.Jobs.GetAsync(result.Job.Id, new Caller("ann")))!.Request.Style);
        var picture = (await host.History.QueryAsync(new HistoryQuery { UserName = "ann" })).Items.Single();
        Assert.Equal("ink", picture.Parameters.Style);
    }
}
