using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Ui.Batches;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Ui;

/// <summary>Team style presets saved in Settings, and picking a style on the Generate form.</summary>
public sealed class StylePresetSettingsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "zimage-style-tests", Guid.NewGuid().ToString("N"));

    private (SettingsStore Store, ConfigurationManager Config) OpenStudio()
    {
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["ZImage:Jobs:DataDirectory"] = "data" });
        var paths = new StudioPaths(config, _root);
        config.AddJsonFile(paths.SettingsFile(), optional: true, reloadOnChange: false);
        return (new SettingsStore(config, paths), config);
    }

    [Fact]
    public async Task ATeamPresetIsSavedAndOfferedAfterTheBuiltInOnes()
    {
        var (store, _) = OpenStudio();
        var form = store.Load();
        form.StylePresets.Add(new TeamStyle { Id = "spring-sale", NameEn = "Spring sale", NameZh = "春季促销", Prompt = "pastel spring colours, cherry blossom petals", Negative = "winter" });
        Assert.Empty(await store.SaveAsync(form));

        var (_, config) = OpenStudio();
        var catalog = new StyleCatalog(config);
        Assert.Equal("spring-sale", catalog.All[^1].Id);
        Assert.True(catalog.All[^1].IsTeam);
        Assert.Equal(StylePreset.BuiltIn.Count + 1, catalog.All.Count);
        var (applied, problem) = catalog.Apply(new GenerationRequest { Prompt = "a tote bag", Style = "spring-sale" });
        Assert.Null(problem);
        Assert.Equal(("a tote bag, pastel spring colours, cherry blossom petals", "winter"), (applied.Prompt, applied.NegativePrompt));
    }

    [Fact]
    public async Task ABadTeamPresetIsRefusedByRowAndFieldAndNothingIsWritten()
    {
        var (store, config) = OpenStudio();
        var form = store.Load();
        form.StylePresets.Add(new TeamStyle { Id = "anime", NameEn = "Mine", NameZh = "我的", Prompt = "x" });
        form.StylePresets.Add(new TeamStyle { Id = "No Spaces", NameEn = "", NameZh = "名", Prompt = "y" });
        var problems = await store.SaveAsync(form);

        Assert.Equal(["settings.problem.style.duplicate", "settings.problem.style.id", "settings.problem.style.nameEn"], problems.Select(p => p.TextKey).Order());
        Assert.Equal(1, problems.Single(p => p.TextKey.EndsWith("duplicate")).Args[0]);
        Assert.Equal(2, problems.Single(p => p.TextKey.EndsWith(".id")).Args[0]);
        Assert.Empty(StyleCatalog.ReadTeam(config));
    }

    [Fact]
    public void AnUnknownStyleIsAProblemListingTheKnownOnes()
    {
        var (_, config) = OpenStudio();
        var (_, problem) = new StyleCatalog(config).Apply(new GenerationRequest { Prompt = "x", Style = "vaporwave" });
        Assert.Equal("style", problem!.Field);
        Assert.Contains("photo, product", problem.Message);
    }

    /// <summary>The prompt's language picks the words, whatever the page's language is.</summary>
    [Theory]
    [InlineData("a lighthouse at dusk", ", ", PromptLanguage.English, UiLanguage.Chinese)]
    [InlineData("黄昏时的灯塔", "，", PromptLanguage.Chinese, UiLanguage.English)]
    public void PickingAnotherStyleSwapsTheWordsInBothBoxesInThePromptsLanguageAndTheSettingsNameIt(string prompt, string comma, PromptLanguage words, UiLanguage page)
    {
        var form = new GenerateForm { Prompt = prompt };
        var photo = StylePreset.BuiltIn.Single(p => p.Id == "photo");
        var watercolour = StylePreset.BuiltIn.Single(p => p.Id == "watercolour");

        form.ChooseStyle(photo, null, StyleCatalog.WordsFor(page));
        Assert.Equal((prompt + comma + photo.Fragments(words).Prompt, photo.Fragments(words).Negative), (form.Prompt, form.NegativePrompt));
        form.ChooseStyle(watercolour, photo, StyleCatalog.WordsFor(page));
        Assert.Equal((prompt + comma + watercolour.Fragments(words).Prompt, watercolour.Fragments(words).Negative), (form.Prompt, form.NegativePrompt));
        Assert.Equal("watercolour", form.ToSettings().Style);

        form.ChooseStyle(null, watercolour, StyleCatalog.WordsFor(page));
        Assert.Equal((prompt, "", ""), (form.Prompt, form.NegativePrompt, form.ToSettings().Style));
    }

    [Fact]
    public void OnAnEmptyPromptTheWordsFollowThePagesLanguageAndSwitchingStillSwapsThem()
    {
        var form = new GenerateForm();
        var anime = StylePreset.BuiltIn.Single(p => p.Id == "anime");
        var ink = StylePreset.BuiltIn.Single(p => p.Id == "ink");

        form.ChooseStyle(anime, null, StyleCatalog.WordsFor(UiLanguage.Chinese));
        Assert.Equal((anime.PromptZh, anime.NegativeZh), (form.Prompt, form.NegativePrompt));
        form.ChooseStyle(ink, anime, StyleCatalog.WordsFor(UiLanguage.Chinese));
        Assert.Equal((ink.PromptZh, ink.NegativeZh), (form.Prompt, form.NegativePrompt));

        // English words picked on the English page stay removable after the person writes Chinese in front of them.
        var english = new GenerateForm();
        english.ChooseStyle(anime, null, StyleCatalog.WordsFor(UiLanguage.English));
        english.Prompt = "樱花树下看书的女孩，" + english.Prompt;
        english.ChooseStyle(ink, anime, StyleCatalog.WordsFor(UiLanguage.English));
        Assert.Equal(($"樱花树下看书的女孩，{ink.PromptZh}", ink.NegativeZh), (english.Prompt, english.NegativePrompt));
    }

    [Fact]
    public async Task ATeamPresetsOptionalChineseWordsAreSavedAndUsedForChinesePromptsOnly()
    {
        var (store, _) = OpenStudio();
        var form = store.Load();
        form.StylePresets.Add(new TeamStyle { Id = "lantern", NameEn = "Lantern festival", NameZh = "元宵", Prompt = "red paper lanterns glowing at night", Negative = "daylight", PromptZh = " 夜色中点亮的红纸灯笼 ", NegativeZh = "白天" });
        form.StylePresets.Add(new TeamStyle { Id = "plain", NameEn = "Plain", NameZh = "素净", Prompt = "on a plain white background" });
        Assert.Empty(await store.SaveAsync(form));

        var (reopened, config) = OpenStudio();
        Assert.Equal(("夜色中点亮的红纸灯笼", "白天"), (reopened.Load().StylePresets[0].PromptZh, reopened.Load().StylePresets[0].NegativeZh));
        var catalog = new StyleCatalog(config);
        var (chinese, _) = catalog.Apply(new GenerationRequest { Prompt = "古镇的石板街", Style = "lantern" });
        Assert.Equal(("古镇的石板街，夜色中点亮的红纸灯笼", "白天"), (chinese.Prompt, chinese.NegativePrompt));
        var (english, _) = catalog.Apply(new GenerationRequest { Prompt = "an old town street", Style = "lantern" });
        Assert.Equal(("an old town street, red paper lanterns glowing at night", "daylight"), (english.Prompt, english.NegativePrompt));
        var (fallback, _) = catalog.Apply(new GenerationRequest { Prompt = "一只青花瓷茶壶", Style = "plain" });
        Assert.Equal("一只青花瓷茶壶, on a plain white background", fallback.Prompt);
    }

    [Fact]
    public async Task OverlongChineseWordsAreRefusedNamingTheRowAndFieldInBothLanguages()
    {
        var (store, config) = OpenStudio();
        var form = store.Load();
        var tooLong = new string('字', StylePreset.MaxFragmentLength + 1);
        form.StylePresets.Add(new TeamStyle { Id = "long", NameEn = "Long", NameZh = "长", Prompt = "x", PromptZh = tooLong, NegativeZh = tooLong });
        var problems = await store.SaveAsync(form);

        var chinese = new Localizer();
        chinese.SetLanguage(UiLanguage.Chinese);
        Assert.Equal(
            ["Team styles, row 1: the Chinese prompt words must be 0 to 1000 characters.", "Team styles, row 1: the Chinese avoid words must be 0 to 1000 characters."],
            problems.Select(p => p.Text(new Localizer())));
        Assert.Equal(
            ["团队风格，第 1 行：中文描述文字必须为 0 到 1000 个字符。", "团队风格，第 1 行：中文“不希望出现”文字必须为 0 到 1000 个字符。"],
            problems.Select(p => p.Text(chinese)));
        Assert.Empty(StyleCatalog.ReadTeam(config));
    }

    [Fact]
    public void ABatchLineInChineseGetsItsStyleColumnsChineseWords()
    {
        var (_, config) = OpenStudio();
        var builder = new BatchBuilder(new NewPictureDefaults(config, NullLogger<NewPictureDefaults>.Instance), new StyleCatalog(config));
        var (items, problems) = builder.Build(new BatchOrder { List = "prompt,style\n一只青花瓷茶壶,product\na blue porcelain teapot,product\n", Format = BatchListFormat.Csv, PicturesPerPrompt = 1 });

        Assert.Empty(problems);
        var product = StylePreset.BuiltIn.Single(p => p.Id == "product");
        Assert.Equal(
            [($"一只青花瓷茶壶，{product.PromptZh}", product.NegativeZh, "product"), ($"a blue porcelain teapot, {product.Prompt}", product.Negative, "product")],
            items.Select(i => (i.Settings.Prompt, i.Settings.NegativePrompt, i.Settings.Style)));
    }

    [Fact]
    public async Task IdleUnloadMinutesAreSavedForTheEngineAndOutOfRangeIsRefused()
    {
        var (store, config) = OpenStudio();
        var form = store.Load();
        Assert.Equal(0, form.IdleUnloadMinutes);
        form.IdleUnloadMinutes = 15;
        Assert.Empty(await store.SaveAsync(form));
        Assert.Equal("15", OpenStudio().Config["ZImage:Engine:IdleUnloadMinutes"]);

        form.IdleUnloadMinutes = 2000;
        var problem = Assert.Single(await store.SaveAsync(form));
        Assert.Equal(("IdleUnloadMinutes", "settings.problem.range"), (problem.Field, problem.TextKey));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
