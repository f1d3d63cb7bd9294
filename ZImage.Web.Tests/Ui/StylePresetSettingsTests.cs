using Microsoft.Extensions.Configuration;
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

    [Fact]
    public void PickingAnotherStyleSwapsTheWordsInBothBoxesAndTheSettingsNameIt()
    {
        var form = new GenerateForm { Prompt = "a lighthouse at dusk" };
        var photo = StylePreset.BuiltIn.Single(p => p.Id == "photo");
        var watercolour = StylePreset.BuiltIn.Single(p => p.Id == "watercolour");

        form.ChooseStyle(photo, null);
        Assert.EndsWith(photo.Prompt, form.Prompt);
        Assert.Equal(photo.Negative, form.NegativePrompt);
        form.ChooseStyle(watercolour, photo);
        Assert.Equal($"a lighthouse at dusk, {watercolour.Prompt}", form.Prompt);
        Assert.Equal(watercolour.Negative, form.NegativePrompt);
        Assert.Equal("watercolour", form.ToSettings().Style);

        form.ChooseStyle(null, watercolour);
        Assert.Equal(("a lighthouse at dusk", "", ""), (form.Prompt, form.NegativePrompt, form.ToSettings().Style));
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
