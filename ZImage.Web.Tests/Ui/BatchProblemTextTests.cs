using Microsoft.Extensions.Configuration;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Ui.Batches;
using ZImage.Web.Ui.I18n;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Ui;

/// <summary>Bad rows of a batch list, said on the batch page in the person's language with their line and column.</summary>
public sealed class BatchProblemTextTests
{
    private static readonly StyleCatalog Styles = new(new ConfigurationManager());

    /// <summary>One list per kind of problem the parser, the plan and the builder can report.</summary>
    public static TheoryData<string, BatchListFormat, string[], int, string> BadLists => new()
    {
        { "side", BatchListFormat.Csv, [], 1, "prompt,width\nfox,512\nmug,500\n" },
        { "range", BatchListFormat.Csv, [], 1, "prompt,seed\nfox,minus\n" },
        { "required", BatchListFormat.Csv, [], 1, "prompt,seed\n,4\n" },
        { "tooLong", BatchListFormat.Text, [], 1, new string('a', GenerationLimits.MaxPromptChars + 1) },
        { "unclosedQuote", BatchListFormat.Csv, [], 1, "prompt\n\"never closed\n" },
        { "emptyCsv", BatchListFormat.Csv, [], 1, "" },
        { "unknownColumn", BatchListFormat.Csv, [], 1, "prompt,colour\nfox,red\n" },
        { "noPromptColumn", BatchListFormat.Csv, [], 1, "negative\nblur\n" },
        { "extraFields", BatchListFormat.Csv, [], 1, "prompt\nfox,red\n" },
        { "noPrompts", BatchListFormat.Text, [], 1, "# only a comment\n" },
        { "choice", BatchListFormat.Text, ["vaporwave"], 1, "fox\n" },
        { "range", BatchListFormat.Text, [], 5, "fox\n" },
    };

    [Theory]
    [MemberData(nameof(BadLists))]
    public void EveryProblemOfAListReadsInChineseWithItsLine(string rule, BatchListFormat format, string[] styles, int perPrompt, string list)
    {
        var builder = new BatchBuilder(new NewPictureDefaults(new ConfigurationManager(), NullLogger<NewPictureDefaults>.Instance), Styles);
        var (items, problems) = builder.Build(new BatchOrder { List = list, Format = format, Styles = styles, PicturesPerPrompt = perPrompt });

        Assert.Empty(items);
        var problem = Assert.Single(problems);
        Assert.Equal(rule, problem.Rule);
        var chinese = new Localizer();
        chinese.SetLanguage(UiLanguage.Chinese);
        var text = BatchProblemText.Text(problem, chinese);
        Assert.DoesNotContain(problem.Message, text);
        Assert.DoesNotContain("must", text);
        Assert.StartsWith(problem.Line > 0 ? $"第 {problem.Line} 行，" : "", text);
        Assert.NotEqual(text, BatchProblemText.Text(problem, new Localizer()));
    }

    [Fact]
    public void AWrongWidthNamesItsLineColumnAndRangeInBothLanguages()
    {
        var (_, problems) = BatchList.ParseCsv("prompt,width\nfox,512\nmug,500\n");
        var problem = Assert.Single(problems);
        var chinese = new Localizer();
        chinese.SetLanguage(UiLanguage.Chinese);

        Assert.Equal("Line 3, width: must be a multiple of 16 between 256 and 2048.", BatchProblemText.Text(problem, new Localizer()));
        Assert.Equal("第 3 行，width：必须是 16 的整数倍，范围 256 到 2048。", BatchProblemText.Text(problem, chinese));
    }

    [Fact]
    public void ABatchWideProblemIsNamedByThePagesOwnLabel()
    {
        var builder = new BatchBuilder(new NewPictureDefaults(new ConfigurationManager(), NullLogger<NewPictureDefaults>.Instance), Styles);
        var (_, problems) = builder.Build(new BatchOrder { List = "fox", PicturesPerPrompt = 9 });
        var chinese = new Localizer();
        chinese.SetLanguage(UiLanguage.Chinese);

        Assert.Equal("批次设置，每条描述的图片数：必须在 1 到 4 之间。", BatchProblemText.Text(Assert.Single(problems), chinese));
    }
}
