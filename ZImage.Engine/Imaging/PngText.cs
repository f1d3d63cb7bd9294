namespace ZImage.Engine.Imaging;

/// <summary>
/// One PNG text chunk. Keywords are 1–79 Latin-1 characters without leading or trailing spaces; the writer uses
/// tEXt when the text is Latin-1 and iTXt (UTF-8) otherwise, as Pillow (and so AUTOMATIC1111) does.
/// </summary>
public sealed record PngText(string Keyword, string Text);

/// <summary>A decoded PNG: RGB pixels (alpha dropped) and every tEXt, zTXt and iTXt chunk in file order.</summary>
public sealed record PngFile(RgbImage Image, IReadOnlyList<PngText> Text)
{
    public string? FindText(string keyword) => Text.FirstOrDefault(t => t.Keyword == keyword)?.Text;
}
