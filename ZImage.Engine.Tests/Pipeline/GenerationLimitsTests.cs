using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>Every entry point validates through these limits; each refusal names the field and the allowed range.</summary>
public sealed class GenerationLimitsTests
{
    private static ValidationProblem Only(GenerationRequest request) => Assert.Single(request.Validate());

    [Fact]
    public void ADefaultRequestIsValid() => Assert.Empty(new GenerationRequest { Prompt = "a cat" }.Validate());

    [Fact]
    public void AWidthThatIsNotAMultipleOf16IsRefused()
    {
        var p = Only(new GenerationRequest { Prompt = "a cat", Width = 1000 });
        Assert.Equal("width", p.Field);
        Assert.Equal("width must be a multiple of 16 between 256 and 2048 (got 1000).", p.Message);
    }

    [Fact]
    public void ZeroStepsAreRefused()
    {
        var p = Only(new GenerationRequest { Prompt = "a cat", Steps = 0 });
        Assert.Equal("steps", p.Field);
        Assert.Equal("steps must be between 1 and 50 (got 0).", p.Message);
    }

    [Fact]
    public void FiveImagesAreRefused()
    {
        var p = Only(new GenerationRequest { Prompt = "a cat", Count = 5 });
        Assert.Equal("count", p.Field);
        Assert.Equal("count must be between 1 and 4 images (got 5).", p.Message);
    }

    [Fact]
    public void AHundredThousandCharacterPromptIsRefused()
    {
        var p = Only(new GenerationRequest { Prompt = new string('a', 100_000) });
        Assert.Equal("prompt", p.Field);
        Assert.Equal("prompt must be at most 10,000 characters (got 100,000).", p.Message);
    }

    [Fact]
    public void NotANumberCfgIsRefused() =>
        Assert.Equal("cfg", Only(new GenerationRequest { Prompt = "a cat", Cfg = float.NaN }).Field);

    [Fact]
    public void EveryProblemIsListedNotJustTheFirst()
    {
        var problems = new GenerationRequest { Prompt = "a cat", Width = 100, Height = 5000, Steps = 51, Count = 0, Seed = -1 }.Validate();
        Assert.Equal(["width", "height", "steps", "count", "seed"], problems.Select(p => p.Field));
    }
}
