using ZImage.Engine.Pipeline;

namespace ZImage.Web.Ui.Generate;

/// <param name="Ratio">Shown to people ("16:9"); the sides are what the model gets.</param>
/// <param name="SizeClass">1024, 1280 or 1536: the square side of about the same pixel count.</param>
public sealed record SizePreset(string Id, string Ratio, int Width, int Height, int SizeClass);

/// <summary>
/// The official 1024-class sizes of Z-Image-Turbo (docs/zimage-model.md) and the same shapes scaled to the
/// 1280 and 1536 classes. Scaled sides are rounded to the nearest multiple of 16 the model accepts.
/// </summary>
public static class SizePresets
{
    private static readonly (string Ratio, int Width, int Height)[] Base1024 =
    [
        ("1:1", 1024, 1024),
        ("9:7", 1152, 896), ("7:9", 896, 1152),
        ("4:3", 1152, 864), ("3:4", 864, 1152),
        ("3:2", 1248, 832), ("2:3", 832, 1248),
        ("16:9", 1280, 720), ("9:16", 720, 1280),
        ("21:9", 1344, 576), ("9:21", 576, 1344),
    ];

    public static readonly IReadOnlyList<int> Classes = [1024, 1280, 1536];

    public static readonly IReadOnlyList<SizePreset> All = Classes
        .SelectMany(c => Base1024.Select(b => Scale(b.Ratio, b.Width, b.Height, c)))
        .ToArray();

    public static SizePreset Default => All[0];

    public static IEnumerable<SizePreset> OfClass(int sizeClass) => All.Where(p => p.SizeClass == sizeClass);

    public static SizePreset? Find(int width, int height) => All.FirstOrDefault(p => p.Width == width && p.Height == height);

    private static SizePreset Scale(string ratio, int width, int height, int sizeClass)
    {
        var factor = sizeClass / 1024.0;
        var w = Math.Min(GenerationLimits.MaxSide, SizeRules.RoundToMultiple(width * factor));
        var h = Math.Min(GenerationLimits.MaxSide, SizeRules.RoundToMultiple(height * factor));
        return new SizePreset($"{w}x{h}", ratio, w, h, sizeClass);
    }
}

public static class SizeRules
{
    public static int RoundToMultiple(double value) =>
        (int)Math.Round(value / GenerationLimits.SideMultiple, MidpointRounding.AwayFromZero) * GenerationLimits.SideMultiple;

    /// <summary>The side the model will actually get for a typed value: nearest multiple of 16 inside 256..2048.</summary>
    public static int Snap(int value) =>
        Math.Clamp(RoundToMultiple(value), GenerationLimits.MinSide, GenerationLimits.MaxSide);
}
