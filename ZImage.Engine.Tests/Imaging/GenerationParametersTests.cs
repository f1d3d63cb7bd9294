using ZImage.Engine.Imaging;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Imaging;

public class GenerationParametersTests
{
    [Fact]
    public void TurboDefaultsWriteTheA1111LineTheBriefShows()
    {
        var settings = new ImageSettings { Request = new() { Prompt = "a cat", NegativePrompt = "dog", Seed = 42 } };

        Assert.Equal(
            "a cat\nNegative prompt: dog\nSteps: 8, Sampler: Euler, CFG scale: 0, Seed: 42, Size: 1024x1024, Model: Z-Image-Turbo",
            settings.ToParameters().ToA1111Text());
    }

    [Fact]
    public void NoNegativePromptMeansNoNegativeLine()
    {
        var text = new ImageSettings { Request = new() { Prompt = "a cat", Seed = 1 } }.ToParameters().ToA1111Text();
        Assert.DoesNotContain("Negative prompt", text);
        Assert.Equal("", GenerationParameters.ParseA1111(text).NegativePrompt);
    }

    public static TheoryData<ImageSettings> Settings => new()
    {
        new ImageSettings { Request = new() { Prompt = "a cat", Seed = 42 } },
        new ImageSettings { Request = new() { Prompt = "line one\nline two, with: colon", NegativePrompt = "blur\nnoise", Seed = 7, Width = 832, Height = 1248, Steps = 30, Cfg = 4f, CfgTruncation = 0.9f, CfgNormalization = 1f }, Shift = 6.0, Model = "Z-Image, base" },
        new ImageSettings { Request = new() { Prompt = "中文提示词：一只猫", Seed = 4_294_967_291, Steps = 1 } },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void A1111TextRoundTripsEverySetting(ImageSettings settings)
    {
        var parsed = GenerationParameters.ParseA1111(settings.ToParameters().ToA1111Text());

        Assert.Equal(settings.Request.Prompt, parsed.Prompt);
        Assert.Equal(settings.Request.NegativePrompt, parsed.NegativePrompt);
        Assert.Equal(settings.Request.Steps, parsed.Steps);
        Assert.Equal(settings.Request.Cfg, parsed.Cfg);
        Assert.Equal(settings.Request.Seed, parsed.Seed);
        Assert.Equal((settings.Request.Width, settings.Request.Height), (parsed.Width!.Value, parsed.Height!.Value));
        Assert.Equal(settings.Model, parsed.Model);
        Assert.Equal("Euler", parsed.Sampler);
        Assert.Equal(settings.Request.CfgTruncation, parsed.CfgTruncation ?? 1f);
        Assert.Equal(settings.Request.CfgNormalization, parsed.CfgNormalization ?? 0f);
        Assert.Equal(settings.Shift, parsed.Shift ?? 3.0);
        Assert.Empty(parsed.Extra);
    }

    [Fact]
    public void ARealA1111TextKeepsUnknownKeysAndUnquotesValues()
    {
        const string text = """
            masterpiece, a castle on a hill
            at sunset
            Negative prompt: lowres, bad anatomy
            Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 3141592653, Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Lora hashes: "detail: 1a2b3c, style: 4d5e6f", Version: v1.6.0
            """;

        var p = GenerationParameters.ParseA1111(text);

        Assert.Equal("masterpiece, a castle on a hill\nat sunset", p.Prompt);
        Assert.Equal("lowres, bad anatomy", p.NegativePrompt);
        Assert.Equal(28, p.Steps);
        Assert.Equal("DPM++ 2M Karras", p.Sampler);
        Assert.Equal(6.5f, p.Cfg);
        Assert.Equal(3141592653L, p.Seed);
        Assert.Equal((832, 1216), (p.Width!.Value, p.Height!.Value));
        Assert.Equal("sd_xl_base_1.0", p.Model);
        Assert.Equal("31e35c80fc", p.Extra["Model hash"]);
        Assert.Equal("detail: 1a2b3c, style: 4d5e6f", p.Extra["Lora hashes"]);
        Assert.Equal("v1.6.0", p.Extra["Version"]);
    }

    [Fact]
    public void TextWithoutASettingsLineIsAllPrompt()
    {
        var p = GenerationParameters.ParseA1111("just a prompt\nSteps: 20");

        Assert.Equal("just a prompt\nSteps: 20", p.Prompt);
        Assert.Null(p.Steps);
    }

    [Fact]
    public void ApplyToKeepsWhatTheTextDoesNotSay()
    {
        var baseline = new GenerationRequest { Prompt = "old", Count = 3, CfgTruncation = 0.7f };
        var p = GenerationParameters.ParseA1111("new prompt\nSteps: 12, CFG scale: 2, Seed: 5");

        var request = p.ApplyTo(baseline);

        Assert.Equal(baseline with { Prompt = "new prompt", Steps = 12, Cfg = 2f, Seed = 5 }, request);
    }
}
