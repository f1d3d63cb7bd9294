namespace ZImage.Engine.Text;

/// <summary>
/// GPT-2's reversible byte-to-unicode table, used by every byte-level BPE: printable Latin-1 bytes stand for
/// themselves, the other 68 bytes are moved to U+0100 upwards so no token contains whitespace or control characters.
/// </summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = BuildTable();

    private static readonly Dictionary<char, byte> CharToByteMap =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    public static byte CharToByte(char c) =>
        CharToByteMap.TryGetValue(c, out var b) ? b : throw new ArgumentException($"'{c}' (U+{(int)c:X4}) is not a byte-level symbol.", nameof(c));

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
