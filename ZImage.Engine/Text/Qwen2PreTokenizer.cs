using System.Text;

namespace ZImage.Engine.Text;

/// <summary>
/// The Qwen2/Qwen3 pre-tokenizer split, written out as a scanner over code points instead of a .NET Regex:
/// .NET's regex engine classifies UTF-16 units, so a letter or digit outside the BMP (𠮷, 𝐀, 𝟘) would be two
/// surrogates of category Cs, and <c>[^\r\n\p{L}\p{N}]?</c> could even split a surrogate pair. HuggingFace
/// runs the pattern with Oniguruma over code points; this scanner reproduces that backtracking match.
/// </summary>
internal static class Qwen2PreTokenizer
{
    /// <summary>The only split pattern this scanner implements; the loader refuses a tokenizer.json with another.</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Appends (start, length) in UTF-16 units of each piece of <paramref name="text"/>; pieces cover it exactly.</summary>
    public static void Split(string text, List<(int Start, int Length)> pieces)
    {
        var i = 0;
        while (i < text.Length)
        {
            var length = MatchAt(text, i);
            pieces.Add((i, length));
            i += length;
        }
    }

    // Every code point matches one of the alternatives (letter, number, whitespace or "other"), so the result is > 0.
    private static int MatchAt(string s, int i)
    {
        var c0 = RuneAt(s, i);
        var after0 = i + c0.Utf16SequenceLength;

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (c0.Value == '\'' && after0 < s.Length)
        {
            var c1 = RuneAt(s, after0);
            if (IsFold(c1, 's') || IsFold(c1, 't') || IsFold(c1, 'm') || IsFold(c1, 'd'))
                return after0 + c1.Utf16SequenceLength - i;
            var after1 = after0 + c1.Utf16SequenceLength;
            if (after1 < s.Length)
            {
                var c2 = RuneAt(s, after1);
                if ((IsFold(c1, 'r') && IsFold(c2, 'e')) || (IsFold(c1, 'v') && IsFold(c2, 'e')) || (IsFold(c1, 'l') && IsFold(c2, 'l')))
                    return after1 + c2.Utf16SequenceLength - i;
            }
        }

        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (Rune.IsLetter(c0))
            return EndOfRun(s, i, Rune.IsLetter) - i;
        if (!IsCrLf(c0) && !Rune.IsNumber(c0) && after0 < s.Length && Rune.IsLetter(RuneAt(s, after0)))
            return EndOfRun(s, after0, Rune.IsLetter) - i;

        // \p{N}
        if (Rune.IsNumber(c0))
            return c0.Utf16SequenceLength;

        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        if (c0.Value == ' ' && after0 < s.Length && IsOther(RuneAt(s, after0)))
            return EndOfRun(s, EndOfRun(s, after0, IsOther), IsCrLf) - i;
        if (IsOther(c0))
            return EndOfRun(s, EndOfRun(s, i, IsOther), IsCrLf) - i;

        // c0 is whitespace from here on.
        var wsEnd = EndOfRun(s, i, Rune.IsWhiteSpace);

        // \s*[\r\n]+ : \s* backs off until [\r\n]+ can match, i.e. the match ends just after the run's last CR/LF.
        for (var k = wsEnd - 1; k >= i; k--)
        {
            if (s[k] is '\r' or '\n')
                return k + 1 - i;
        }

        // \s+(?!\S) : at the end of the text the whole run; otherwise the run less its last code point, if that leaves any.
        if (wsEnd == s.Length)
            return wsEnd - i;
        var lastStart = wsEnd - 1;
        if (char.IsLowSurrogate(s[lastStart]) && lastStart - 1 >= i && char.IsHighSurrogate(s[lastStart - 1]))
            lastStart--;
        if (lastStart > i)
            return lastStart - i;

        // \s+
        return wsEnd - i;
    }

    private static bool IsCrLf(Rune r) => r.Value is '\r' or '\n';

    private static bool IsOther(Rune r) => !Rune.IsWhiteSpace(r) && !Rune.IsLetter(r) && !Rune.IsNumber(r);

    // Oniguruma's (?i) uses Unicode case folding, under which U+017F LATIN SMALL LETTER LONG S folds to 's';
    // no other code point folds onto the letters of the contractions.
    private static bool IsFold(Rune r, char lower) =>
        r.Value == lower || r.Value == char.ToUpperInvariant(lower) || (lower == 's' && r.Value == 0x017F);

    private static int EndOfRun(string s, int i, Func<Rune, bool> inClass)
    {
        while (i < s.Length)
        {
            var r = RuneAt(s, i);
            if (!inClass(r))
                break;
            i += r.Utf16SequenceLength;
        }
        return i;
    }

    // The tokenizer replaces lone surrogates before splitting, so every position decodes.
    private static Rune RuneAt(string s, int i)
    {
        Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out _);
        return rune;
    }
}
