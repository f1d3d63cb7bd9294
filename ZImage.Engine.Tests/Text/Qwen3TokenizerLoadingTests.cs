using System.Text;
using ZImage.Engine.Text;

namespace ZImage.Engine.Tests.Text;

public class Qwen3TokenizerLoadingTests
{
    private static Qwen3Tokenizer LoadFromText(string json) => Qwen3Tokenizer.Load(new MemoryStream(Encoding.UTF8.GetBytes(json)));

    private static string TinyTokenizerJson(string preTokenizerRegex, string normalizer = "{\"type\":\"NFC\"}")
    {
        // Every byte-level symbol with id = byte value, then "ab" (256) and "abc" (257) from two merges.
        var symbols = Enumerable.Range(0, 256).Select(b => ByteLevelSymbol(b)).ToList();
        var vocab = symbols.Select((s, i) => $"{System.Text.Json.JsonSerializer.Serialize(s)}:{i}").ToList();
        vocab.Add("\"ab\":256");
        vocab.Add("\"abc\":257");
        var regex = System.Text.Json.JsonSerializer.Serialize(preTokenizerRegex);
        return $$$"""
            {"normalizer":{{{normalizer}}},
             "pre_tokenizer":{"type":"Sequence","pretokenizers":[
               {"type":"Split","pattern":{"Regex":{{{regex}}}},"behavior":"Isolated","invert":false},
               {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]},
             "added_tokens":[{"id":258,"content":"<|end|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
             "model":{"type":"BPE","vocab":{{{{string.Join(',', vocab)}}}},"merges":["a b",["ab","c"]]}}
            """;
    }

    private static string ByteLevelSymbol(int b)
    {
        var next = 256;
        for (var x = 0; x < 256; x++)
        {
            var printable = x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            var c = printable ? (char)x : (char)next++;
            if (x == b)
                return c.ToString();
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }

    [Fact]
    public void ATinyTokenizerMergesByRankAndSplitsAddedTokens()
    {
        var tokenizer = LoadFromText(TinyTokenizerJson(Qwen2PreTokenizer.Pattern));

        Assert.Equal(new[] { 257, 258, 257 }, tokenizer.Encode("abc<|end|>abc"));
        Assert.Equal(new[] { 256, 'b' }, tokenizer.Encode("abb"));
        Assert.Equal(new[] { 'c', 256 }, tokenizer.Encode("cab"));
        Assert.Equal("abc<|end|>abb", tokenizer.Decode(new[] { 257, 258, 256, 'b' }));
    }

    [Fact]
    public void AnotherSplitPatternIsRefusedByName()
    {
        var e = Assert.Throws<InvalidDataException>(() => LoadFromText(TinyTokenizerJson(@"\s+|\w+")));
        Assert.Contains(@"\s+|\w+", e.Message);
        Assert.Contains("Qwen2 pattern", e.Message);
    }

    [Fact]
    public void AnUnsupportedNormalizerIsRefusedByName()
    {
        var e = Assert.Throws<InvalidDataException>(() => LoadFromText(TinyTokenizerJson(Qwen2PreTokenizer.Pattern, "{\"type\":\"Lowercase\"}")));
        Assert.Contains("Lowercase", e.Message);
    }

    [Fact]
    public void AMissingModelSectionIsNamed()
    {
        var e = Assert.Throws<InvalidDataException>(() => LoadFromText($$$"""{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":{{{System.Text.Json.JsonSerializer.Serialize(Qwen2PreTokenizer.Pattern)}}}},"behavior":"Isolated"},{"type":"ByteLevel"}]}}"""));
        Assert.Contains("\"model\"", e.Message);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), "zimage-no-such-dir", "tokenizer.json");
        var e = Assert.Throws<FileNotFoundException>(() => Qwen3Tokenizer.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TheRealTokenizerKnowsTheZImageSpecialIds()
    {
        var t = Qwen3TokenizerFixture.Tokenizer;
        Assert.Equal(151643, t.AddedTokenId("<|endoftext|>"));
        Assert.Equal(151644, t.AddedTokenId("<|im_start|>"));
        Assert.Equal(151645, t.AddedTokenId("<|im_end|>"));
    }

    [Fact]
    public void ALongPromptIsCutAt512AndLosesTheTemplateTail()
    {
        var t = Qwen3TokenizerFixture.Tokenizer;
        var prompt = string.Concat(Enumerable.Repeat("a red fox jumps over the lazy dog. ", 200));

        var tokens = t.EncodePrompt(prompt);

        Assert.Equal(ZImagePrompt.MaxTokens, tokens.Ids.Length);
        Assert.True(tokens.Truncated);
        Assert.True(tokens.FullCount > 1000);
        Assert.Equal(151644, tokens.Ids[0]);
        Assert.Single(tokens.Ids, id => id == 151644); // the assistant's <|im_start|> was cut off
        Assert.DoesNotContain(151645, tokens.Ids);
    }

    [Fact]
    public void AShortPromptKeepsTheWholeTemplate()
    {
        var tokens = Qwen3TokenizerFixture.Tokenizer.EncodePrompt("a cat");

        Assert.False(tokens.Truncated);
        Assert.Equal(tokens.FullCount, tokens.Ids.Length);
        Assert.Equal(new[] { 151645, 198, 151644, 77091, 198 }, tokens.Ids[^5..]);
    }

    [Fact]
    public void LoneSurrogatesEncodeAsTheReplacementCharacter()
    {
        var t = Qwen3TokenizerFixture.Tokenizer;
        Assert.Equal(t.Encode("a\uFFFDb"), t.Encode("a\uD800b"));
    }
}
