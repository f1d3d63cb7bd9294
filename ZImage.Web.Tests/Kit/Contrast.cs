using MudBlazor.Utilities;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// WCAG 2 contrast between a text colour and what lies behind it, for the theme tests (from the palette) and the
/// browser tests (from computed styles). Colours are anything MudColor reads: "#rrggbb", "rgb(…)", "rgba(…)".
/// </summary>
public static class Contrast
{
    /// <summary>Body text needs 4.5:1 (WCAG AA).</summary>
    public const double Minimum = 4.5;

    /// <summary>
    /// The ratio of <paramref name="text"/> over <paramref name="backgrounds"/>, listed from the nearest to the
    /// farthest (an element's own, then its parents'): translucent layers are painted over the ones behind them first,
    /// as the browser does, and the text over the result.
    /// </summary>
    public static double Ratio(string text, params string[] backgrounds)
    {
        var behind = (R: 1.0, G: 1.0, B: 1.0); // the canvas: white, unless an opaque layer covers it
        foreach (var layer in backgrounds.Reverse())
            behind = Over(new MudColor(layer), behind);
        var front = Over(new MudColor(text), behind);
        var (lighter, darker) = Order(Luminance(front), Luminance(behind));
        return (lighter + 0.05) / (darker + 0.05);
    }

    private static (double R, double G, double B) Over(MudColor c, (double R, double G, double B) under)
    {
        var a = c.A / 255.0;
        return (c.R / 255.0 * a + under.R * (1 - a), c.G / 255.0 * a + under.G * (1 - a), c.B / 255.0 * a + under.B * (1 - a));
    }

    private static double Luminance((double R, double G, double B) c) =>
        0.2126 * Linear(c.R) + 0.7152 * Linear(c.G) + 0.0722 * Linear(c.B);

    private static double Linear(double v) => v <= 0.04045 ? v / 12.92 : Math.Pow((v + 0.055) / 1.055, 2.4);

    private static (double, double) Order(double a, double b) => a >= b ? (a, b) : (b, a);
}
