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
