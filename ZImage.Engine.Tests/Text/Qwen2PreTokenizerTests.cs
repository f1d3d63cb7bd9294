using System.Text;
using System.Text.RegularExpressions;
using ZImage.Engine.Text;

namespace ZImage.Engine.Tests.Text;

public class Qwen2PreTokenizerTests
{
    private static string[] Pieces(string text)
    {
        var pieces = new List<(int Start, int Length)>();
        Qwen2PreTokenizer.Split(text, pieces);
        return pieces.Select(p => text.Substring(p.Start, p.Length)).ToArray();
    }

    // Expected pieces worked out by hand from the pattern's alternatives, in order:
    // contraction | optional non-letter + letters | one digit | optional space + symbols + newlines |
    // whitespace up to the last newline | whitespace not followed by non-space | whitespace.
    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("it's we'RE I'd", new[] { "it", "'s", " we", "'RE", " I", "'d" })]
    [InlineData("2024", new[] { "2", "0", "2", "4" })]
    [InlineData("  two spaces", new[] { " ", " two", " spaces" })]
    [InlineData("end   ", new[] { "end", "   " })]
    [InlineData("a\n\n b", new[] { "a", "\n\n", " b" })]
    [InlineData("x  \n  y", new[] { "x", "  \n", " ", " y" })]
    [InlineData("f(x):\n\treturn", new[] { "f", "(x", "):\n", "\treturn" })]
    [InlineData("a !!?\r\nb", new[] { "a", " !!?\r\n", "b" })]
    [InlineData("\"quoted\"", new[] { "\"quoted", "\"" })]
    [InlineData("猫 sitting", new[] { "猫", " sitting" })]
    [InlineData("𠮷野家 𝟘𝟙", new[] { "𠮷野家", " ", "𝟘", "𝟙" })]
    [InlineData("😀😀 ok", new[] { "😀😀", " ok" })]
    [InlineData("ſ'ſ", new[] { "ſ", "'ſ" })]
    public void SplitFollowsTheQwen2Pattern(string text, string[] expected)
    {
        Assert.Equal(expected, Pieces(text));
    }

    /// <summary>
    /// .NET's Regex matches the pattern exactly when the text has no surrogate pairs (it classifies UTF-16 units,
    /// which are code points in the BMP) and no long s (its case-insensitive match does not fold ſ to s), so
    /// random strings over the tricky characters must split the same both ways.
    /// </summary>
    [Fact]
    public void SplitAgreesWithDotNetRegexOnRandomBmpText()
    {
        var regex = new Regex(Qwen2PreTokenizer.Pattern, RegexOptions.CultureInvariant);
        const string alphabet = "aZé猫ß \t\r\n\u00a0\u3000\u2028'sSrRvVeElLmMdDtT09٣½.,!?-_()\"#$`~*😀";
        var bmp = alphabet.Where(c => !char.IsSurrogate(c)).ToArray();
        var random = new Random(1234);
        for (var n = 0; n < 5000; n++)
        {
            var sb = new StringBuilder();
            var length = random.Next(0, 24);
            for (var i = 0; i < length; i++)
                sb.Append(bmp[random.Next(bmp.Length)]);
            var text = sb.ToString();

            var expected = regex.Matches(text).Select(m => m.Value).ToArray();

            Assert.True(expected.SequenceEqual(Pieces(text)), $"text {Escape(text)}: regex {string.Join(" | ", expected.Select(Escape))}, scanner {string.Join(" | ", Pieces(text).Select(Escape))}");
        }
    }

    [Fact]
    public void PiecesCoverTheTextWithoutSplittingSurrogatePairs()
    {
        const string text = "a😀\u00a0😀b \t😀\n😀𝟘x'😀";
        var pieces = Pieces(text);
        Assert.Equal(text, string.Concat(pieces));
        Assert.All(pieces, p => Assert.False(char.IsLowSurrogate(p[0]), $"piece {Escape(p)} starts inside a surrogate pair"));
    }

    private static string Escape(string s) =>
        "\"" + string.Concat(s.Select(c => c < ' ' || c > '~' ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
}
