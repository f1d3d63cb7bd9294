using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Generate;

namespace ZImage.Web.Tests.Ui;

public class GenerateFormTests
{
    [Fact]
    public void StartsWithTurboDefaults()
    {
        var form = new GenerateForm();
        Assert.Equal(8, form.Steps);
        Assert.Equal(0f, form.Cfg);
        Assert.Equal(1, form.Count);
        Assert.Equal((1024, 1024), (form.Width, form.Height));
        Assert.Equal(SeedMode.Random, form.SeedMode);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(51, 50)]
    [InlineData(30, 30)]
    public void StepsSliderClampsToOneToFifty(int typed, int kept)
    {
        var form = new GenerateForm { Steps = typed };
        Assert.Equal(kept, form.Steps);
    }

    [Theory]
    [InlineData(-1f, 0f)]
    [InlineData(12.5f, 10f)]
    [InlineData(3.14159f, 3.1f)]
    [InlineData(float.NaN, 0f)]
    public void CfgSliderClampsToZeroToTenInTenths(float typed, float kept)
    {
        var form = new GenerateForm { Cfg = typed };
        Assert.Equal(kept, form.Cfg);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(9, 4)]
    public void ImageCountClampsToOneToFour(int typed, int kept) => Assert.Equal(kept, new GenerateForm { Count = typed }.Count);

    [Theory]
    [InlineData(1000, 1008)]
    [InlineData(1001, 1008)]
    [InlineData(1023, 1024)]
    [InlineData(100, 256)]
    [InlineData(5000, 2048)]
    [InlineData(768, 768)]
    public void CustomSidesSnapToMultiplesOfSixteenInRange(int typed, int used)
    {
        var form = new GenerateForm { SizeMode = SizeMode.Custom, CustomWidth = typed, CustomHeight = typed };
        Assert.Equal(used, form.Width);
        Assert.Equal(used, form.Height);
        Assert.Equal(0, form.Width % GenerationLimits.SideMultiple);
    }

    [Fact]
    public void SnapNoteExplainsOnlyWhenTheTypedValueChanged()
    {
        var form = new GenerateForm { SizeMode = SizeMode.Custom, CustomWidth = 1000, CustomHeight = 768 };
        Assert.Equal((1000, 1008), form.WidthSnap);
        Assert.Null(form.HeightSnap);
        Assert.True(form.SnapNote);
        form.CustomWidth = 1024;
        Assert.False(form.SnapNote);
    }

    [Fact]
    public void EmptyPromptIsAProblemNamingThePrompt()
    {
        var problems = new GenerateForm { Prompt = "   " }.Check();
        Assert.Equal("prompt", Assert.Single(problems).Field);
    }

    [Fact]
    public void DiceFixesARandomSeedInsideTheAllowedRange()
    {
        var form = new GenerateForm();
        form.RollSeed(new Random(7));
        Assert.Equal(SeedMode.Fixed, form.SeedMode);
        Assert.InRange(form.FixedSeed!.Value, GenerationLimits.MinSeed, GenerationLimits.MaxSeed);
    }

    [Fact]
    public void ReuseLastSendsTheLastSeedAsAFixedSeed()
    {
        var form = new GenerateForm { Prompt = "a fox", SeedMode = SeedMode.ReuseLast, LastSeed = 1234 };
        var request = form.ToJobRequest("key");
        Assert.Equal(SeedPolicy.Fixed, request.SeedPolicy);
        Assert.Equal(1234, request.Settings.Seed);
    }

    [Fact]
    public void ReuseLastWithoutAnEarlierPictureIsAProblem()
    {
        var problems = new GenerateForm { Prompt = "a fox", SeedMode = SeedMode.ReuseLast }.Check();
        Assert.Equal("seed", Assert.Single(problems).Field);
    }

    [Fact]
    public void RandomSeedLeavesTheSeedToTheServer()
    {
        var request = new GenerateForm { Prompt = "  a fox  ", Steps = 12, Count = 3 }.ToJobRequest("k1");
        Assert.Equal(SeedPolicy.Random, request.SeedPolicy);
        Assert.Equal(0, request.Settings.Seed);
        Assert.Equal("a fox", request.Settings.Prompt);
        Assert.Equal((12, 3, "k1"), (request.Settings.Steps, request.Settings.Count, request.IdempotencyKey));
    }

    [Fact]
    public void ReuseSettingsLoadsEveryParameterAndPicksThePresetWhenItMatches()
    {
        var form = new GenerateForm();
        form.LoadFrom(new GenerationRequest { Prompt = "p", NegativePrompt = "n", Width = 1280, Height = 720, Steps = 9, Cfg = 2.5f, Seed = 99, Count = 2 });
        Assert.Equal(("p", "n", 9, 2.5f, 2), (form.Prompt, form.NegativePrompt, form.Steps, form.Cfg, form.Count));
        Assert.Equal(SizeMode.Preset, form.SizeMode);
        Assert.Equal("16:9", form.Preset.Ratio);
        Assert.Equal((SeedMode.Fixed, 99L), (form.SeedMode, form.FixedSeed!.Value));

        form.LoadFrom(new GenerationRequest { Prompt = "p", Width = 640, Height = 480 });
        Assert.Equal(SizeMode.Custom, form.SizeMode);
        Assert.Equal((640, 480), (form.Width, form.Height));
    }
    [Fact]
    public void ReuseSettingsKeepsCfgTruncationAndNormalizationSoThePictureIsRemadeExactly()
    {
        var form = new GenerateForm();
        form.LoadFrom(new GenerationRequest { Prompt = "p", Cfg = 4f, CfgTruncation = 0.6f, CfgNormalization = 1.5f, Seed = 7 });

        var request = form.ToJobRequest("k");

        Assert.Equal((4f, 0.6f, 1.5f), (request.Settings.Cfg, request.Settings.CfgTruncation, request.Settings.CfgNormalization));
    }
}

public class SizePresetsTests
{
    [Fact]
    public void EveryPresetIsAValidModelSize()
    {
        foreach (var preset in SizePresets.All)
        {
            var problems = new GenerationRequest { Prompt = "x", Width = preset.Width, Height = preset.Height }.Validate();
            Assert.True(problems.Count == 0, $"{preset.Id}: {string.Join(" ", problems.Select(p => p.Message))}");
        }
    }

    [Fact]
    public void TheOfficialSizesAreTheThousandTwentyFourClass()
    {
        var official = new[] { "1024x1024", "1152x896", "896x1152", "1152x864", "864x1152", "1248x832", "832x1248", "1280x720", "720x1280", "1344x576", "576x1344" };
        Assert.Equal(official, SizePresets.OfClass(1024).Select(p => p.Id));
    }

    [Fact]
    public void LargerClassesKeepTheShapeAndGrow()
    {
        foreach (var sizeClass in new[] { 1280, 1536 })
        {
            var scaled = SizePresets.OfClass(sizeClass).ToList();
            Assert.Equal(11, scaled.Count);
            foreach (var (small, large) in SizePresets.OfClass(1024).Zip(scaled))
            {
                Assert.Equal(small.Ratio, large.Ratio);
                Assert.True(large.Width * large.Height > small.Width * small.Height);
            }
        }
    }
}
