using Bunit;
using MudBlazor;
using ZImage.Web.Components.Layout;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Theming;

namespace ZImage.Web.Tests.Components;

/// <summary>
/// The studio's light and dark palettes: every text the pages put on a background reads at 4.5:1 or better, the
/// header's toggle switches the theme and keeps the choice for the next visit. The browser tests measure the same
/// pairs from computed styles (ThemeBrowserTests), where CSS decides which palette colours meet.
/// </summary>
public sealed class ThemeTests
{
    /// <summary>
    /// Which palette colours the stylesheets put together (app.css and the .razor.css files name them through
    /// --mud-palette-* variables): the text, the background it sits on ("a over b" for a translucent layer over another), and where.
    /// </summary>
    private static IEnumerable<(string Where, string Text, string Background)> Pairs(Palette p) =>
    [
        ("body text on the page", p.TextPrimary.ToString(), p.Background.ToString()),
        ("text on a panel", p.TextPrimary.ToString(), p.Surface.ToString()),
        ("muted text (hints) on a panel", p.TextSecondary.ToString(), p.Surface.ToString()),
        ("model check box: its text", p.TextPrimary.ToString(), p.BackgroundGray.ToString()),
        ("model check box: 'ready'", p.Success.ToString(), p.BackgroundGray.ToString()),
        ("model check box: 'missing' / 'incomplete'", p.WarningDarken, p.BackgroundGray.ToString()),
        ("active seed button ('Fixed'), normal and under the pointer", p.PrimaryContrastText.ToString(), p.Primary.ToString()),
        ("seed button under the pointer", p.TextPrimary.ToString(), p.BackgroundGray.ToString()),
        ("reconnect dialog: its text", p.TextPrimary.ToString(), p.Surface.ToString()),
        ("reconnect dialog: Retry / Reload", p.PrimaryContrastText.ToString(), p.Primary.ToString()),
        ("Generate button", p.PrimaryContrastText.ToString(), p.Primary.ToString()),
        ("filled buttons (Generate, Retry) under the pointer", p.PrimaryContrastText.ToString(), p.PrimaryDarken),
        ("active tab and values (primary as text) on a panel", p.Primary.ToString(), p.Surface.ToString()),
        ("muted text on the page", p.TextSecondary.ToString(), p.Background.ToString()),
        ("'saved' (success) on a panel", p.Success.ToString(), p.Surface.ToString()),
        ("errors (field problems, Delete) on a panel", p.Error.ToString(), p.Surface.ToString()),
        ("notes (info) on a panel", p.InfoDarken, p.Surface.ToString()),
        ("success snackbar (pictures ready)", p.SuccessContrastText.ToString(), p.Success.ToString()),
        ("info snackbar (cancelled)", p.InfoContrastText.ToString(), p.Info.ToString()),
        ("error snackbar and the filled Delete button", p.ErrorContrastText.ToString(), p.Error.ToString()),
        ("the self-test model's button (secondary)", p.SecondaryContrastText.ToString(), p.Secondary.ToString()),
        // Tints of a colour on a panel (color-mix with transparent).
        ("API token badge", p.TextPrimary.ToString(), Tint(p.Primary, 0.14) + " over " + p.Surface),
        ("the new API token's box", p.TextPrimary.ToString(), Tint(p.Success, 0.10) + " over " + p.Surface),
    ];

    /// <summary>color-mix(in srgb, colour N%, transparent): the colour at that opacity.</summary>
    private static string Tint(MudBlazor.Utilities.MudColor colour, double amount) =>
        $"rgba({colour.R},{colour.G},{colour.B},{amount.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryTextOnItsBackgroundReadsAtLeastFourAndAHalfToOne(bool dark)
    {
        var palette = dark ? (Palette)UiThemes.Studio.PaletteDark : UiThemes.Studio.PaletteLight;
        // Panels and dialogs sit on the page background, so a translucent surface is painted over it first.
        var tooFaint = Pairs(palette)
            .Select(pair => (pair.Where, Ratio: Contrast.Ratio(pair.Text, [.. pair.Background.Split(" over "), palette.Background.ToString()])))
            .Where(pair => pair.Ratio < Contrast.Minimum)
            .Select(pair => $"{pair.Where}: {pair.Ratio:0.00}:1")
            .ToList();
        Assert.True(tooFaint.Count == 0, $"{(dark ? "dark" : "light")} palette below {Contrast.Minimum}:1 — {string.Join("; ", tooFaint)}");
    }

    [Fact]
    public void TheContrastArithmeticMatchesKnownPairs()
    {
        Assert.Equal(21.0, Contrast.Ratio("#000000", "#ffffff"), 2);
        Assert.Equal(1.0, Contrast.Ratio("#777777", "#777777"), 2);
        Assert.Equal(4.48, Contrast.Ratio("#777777", "#ffffff"), 2);
        // Half-transparent black over white is mid grey.
        Assert.Equal(Contrast.Ratio("#ffffff", "#808080"), Contrast.Ratio("#ffffff", "rgba(0,0,0,0.5)", "#ffffff"), 1);
    }

    [Fact]
    public async Task TheToggleSwitchesTheThemeAndKeepsTheChoiceInACookie()
    {
        await using var studio = await TestStudio.StartAsync();
        await using var bunit = studio.Bunit();
        var layout = bunit.Render<MainLayout>(p => p.Add(l => l.Body, b => b.AddContent(0, "page")));
        var theme = studio.Get<ThemeState>();
        Assert.False(theme.IsDark);
        Assert.Equal(LightBackground, PageBackground(layout.Markup));

        layout.Find("#theme-toggle").Click();

        Assert.True(theme.IsDark);
        var saved = bunit.JSInterop.Invocations["zimage.setPreference"].Last();
        Assert.Equal([UiThemes.CookieName, UiThemes.Dark], saved.Arguments);
        layout.WaitForAssertion(() => Assert.Equal(DarkBackground, PageBackground(layout.Markup)));
        Assert.Equal("Switch to light theme", layout.Find("#theme-toggle").GetAttribute("title"));

        layout.Find("#theme-toggle").Click();

        Assert.False(theme.IsDark);
        Assert.Equal([UiThemes.CookieName, UiThemes.Light], bunit.JSInterop.Invocations["zimage.setPreference"].Last().Arguments);
        layout.WaitForAssertion(() => Assert.Equal(LightBackground, PageBackground(layout.Markup)));
    }

    [Theory]
    [InlineData("dark", true)]
    [InlineData("light", false)]
    [InlineData(null, false)]
    public async Task TheNextVisitStartsInTheThemeTheCookieKept(string? cookie, bool dark)
    {
        await using var studio = await TestStudio.StartAsync();
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        if (cookie is not null)
            http.Request.Headers.Cookie = $"{UiThemes.CookieName}={cookie}";

        var html = await studio.RenderAsync<ZImage.Web.Components.App>(request: http);

        Assert.Equal(dark, studio.Get<ThemeState>().IsDark);
        Assert.Equal(dark ? DarkBackground : LightBackground, PageBackground(html));
    }

    private static string DarkBackground => new MudBlazor.Utilities.MudColor(UiThemes.Studio.PaletteDark.Background.ToString()).ToString(MudBlazor.Utilities.MudColorOutputFormats.RGBA);
    private static string LightBackground => new MudBlazor.Utilities.MudColor(UiThemes.Studio.PaletteLight.Background.ToString()).ToString(MudBlazor.Utilities.MudColorOutputFormats.RGBA);

    /// <summary>The page background MudThemeProvider's style element sets, as MudColor writes it.</summary>
    private static string PageBackground(string markup)
    {
        var value = System.Text.RegularExpressions.Regex.Match(markup, @"--mud-palette-background:\s*([^;]+);").Groups[1].Value;
        return new MudBlazor.Utilities.MudColor(value.Trim()).ToString(MudBlazor.Utilities.MudColorOutputFormats.RGBA);
    }
}
