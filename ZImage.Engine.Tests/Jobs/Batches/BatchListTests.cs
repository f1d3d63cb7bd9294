using ZImage.Engine.Jobs;
using ZImage.Engine.Jobs.Batches;
using ZImage.Engine.Tests.Jobs;

namespace ZImage.Engine.Tests.Jobs.Batches;

/// <summary>Pasted and uploaded prompt lists: good rows become lines, bad rows are named by line and field.</summary>
public sealed class BatchListTests
{
    [Fact]
    public void TextIsOnePromptPerLineSkippingBlanksAndComments()
    {
        var (lines, problems) = BatchList.ParseText("a red fox\r\n\n# comment\n  一只小猫  \n");
        Assert.Empty(problems);
        Assert.Equal([(1, "a red fox"), (4, "一只小猫")], lines.Select(l => (l.Line, l.Prompt)));
    }

    [Fact]
    public void CsvReadsEveryColumnWithQuotedCommasAndNewlines()
    {
        var csv = "prompt,negative,seed,width,height,style\n" +
                  "\"a mug, white\",blurry,42,768,512,product\n" +
                  "\"two\nlines\",,,,,\n" +
                  "plain,,,,,\n";
        var (lines, problems) = BatchList.ParseCsv(csv);
        Assert.Empty(problems);
        Assert.Equal(new BatchLine(2, "a mug, white", "blurry", 42, 768, 512, "product"), lines[0]);
        Assert.Equal(new BatchLine(3, "two\nlines"), lines[1]);
        Assert.Equal(5, lines[2].Line);
    }

    [Fact]
    public void BadCsvRowsAreReportedByLineNumberAndField()
    {
        var csv = "prompt,seed,width\n" +
                  "fine,1,512\n" +
                  ",2,512\n" +
                  "bad seed,minus,512\n" +
                  "bad width,3,500\n";
        var (lines, problems) = BatchList.ParseCsv(csv);
        Assert.Equal(["fine"], lines.Select(l => l.Prompt));
        Assert.Equal([(3, "prompt"), (4, "seed"), (5, "width")], problems.Select(p => (p.Line, p.Field)));
        Assert.Contains("multiple of 16", problems[2].Message);
        // The rule and its numbers, for a page to say the same in the person's language.
        Assert.Equal(["required", "range", "side"], problems.Select(p => p.Rule));
        Assert.Equal([16, 256, 2048], problems[2].Args);
    }

    [Fact]
    public void AnUnknownColumnOrAMissingPromptColumnIsNamedOnTheHeaderLine()
    {
        var (_, unknown) = BatchList.ParseCsv("prompt,colour\nx,red\n");
        Assert.Equal((1, "colour"), (unknown.Single().Line, unknown.Single().Field));
        var (_, missing) = BatchList.ParseCsv("negative\nblur\n");
        Assert.Equal((1, "prompt"), (missing.Single().Line, missing.Single().Field));
        var (_, open) = BatchList.ParseCsv("prompt\n\"never closed\n");
        Assert.Equal((2, "unclosedQuote"), (open.Single().Line, open.Single().Rule));
    }

    [Fact]
    public void ThePlanMakesPromptsTimesStylesAndKeepsARowsOwnStyle()
    {
        var (lines, _) = BatchList.ParseCsv("prompt,style,seed\nfox,,5\nmug,product,\n");
        var (items, problems) = BatchPlan.Expand(lines, ["photo", "anime"], 4, GenerationRequest.Defaults, Apply);
        Assert.Empty(problems);
        Assert.Equal([("fox", "photo"), ("fox", "anime"), ("mug", "product")], items.Select(i => (i.Settings.Prompt.Split(',')[0], i.Settings.Style)));
        Assert.All(items, i => Assert.Equal(4, i.Settings.Count));
        Assert.Equal([SeedPolicy.Fixed, SeedPolicy.Fixed, SeedPolicy.Random], items.Select(i => i.SeedPolicy));

        var (_, unknown) = BatchPlan.Expand(lines, ["vaporwave"], 1, GenerationRequest.Defaults, Apply);
        Assert.Equal((2, "style"), (unknown[0].Line, unknown[0].Field));
        var (_, tooMany) = BatchPlan.Expand(lines, [], 5, GenerationRequest.Defaults, Apply);
        Assert.Equal("picturesPerPrompt", tooMany.Single().Field);
    }

    internal static (GenerationRequest, ValidationProblem?) Apply(GenerationRequest r)
    {
        if (r.Style.Length == 0)
            return (r, null);
        if (StylePreset.BuiltIn.FirstOrDefault(p => p.Id == r.Style) is not { } preset)
            return (r, new ValidationProblem("style", $"style '{r.Style}' is unknown."));
        var (prompt, negative) = preset.Apply(r.Prompt, r.NegativePrompt);
        return (r with { Prompt = prompt, NegativePrompt = negative }, null);
    }
}
