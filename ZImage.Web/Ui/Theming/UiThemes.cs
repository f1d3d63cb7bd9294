using MudBlazor;

namespace ZImage.Web.Ui.Theming;

public static class UiThemes
{
    public const string CookieName = "zi-theme";
    public const string Dark = "dark";
    public const string Light = "light";

    /// <summary>
    /// The studio's one MudBlazor theme. app.css and the components' .razor.css files read its colours through
    /// MudBlazor's CSS variables (--mud-palette-*), so light and dark need no second set of rules. The dark palette's
    /// lines and inputs are lighter than MudBlazor's defaults so that boxes (the model check, the seed buttons) stay
    /// visible on the dark surface. Every text colour meets 4.5:1 on the background it is put on (ThemeTests lists the
    /// pairs): hence, in light mode, darker muted text, success, warning, error and info colours than MudBlazor's
    /// defaults, and in dark mode dark text on the light filled colours (white on them read at 1.9–3.4:1).
    /// </summary>
    public static readonly MudTheme Studio = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#4f46e5",
            Secondary = "#0f766e",
            AppbarBackground = "#ffffff",
            AppbarText = "#1f2937",
            Background = "#f6f7fb",
            BackgroundGray = "#eef0f6",
            Surface = "#ffffff",
            LinesDefault = "#e2e5ee",
            LinesInputs = "#b8bdcc",
            TextSecondary = "rgba(0,0,0,0.6)",
            Success = "#137333",
            WarningDarken = "#92400e",
            Error = "#c62828",
            Info = "#1565c0",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#8b87ff",
            PrimaryContrastText = "#14151c",
            PrimaryDarken = "#7b76f5",
            SecondaryContrastText = "#14151c",
            SuccessContrastText = "#14151c",
            InfoContrastText = "#14151c",
            ErrorContrastText = "#14151c",
            Secondary = "#2dd4bf",
            AppbarBackground = "#1e1f2a",
            AppbarText = "#e8e8f0",
            Background = "#14151c",
            BackgroundGray = "#262836",
            Surface = "#1e1f2a",
            TextPrimary = "#e8e8f0",
            TextSecondary = "#b4b6c4",
            LinesDefault = "#3a3d50",
            LinesInputs = "#6b6f86",
            ActionDefault = "#c8cad6",
        },
        LayoutProperties = new LayoutProperties { DefaultBorderRadius = "10px" },
    };
}

/// <summary>
/// The circuit's light or dark choice: read from the cookie on the first request, changed by the header's toggle.
/// The layout's MudThemeProvider follows it.
/// </summary>
public sealed class ThemeState
{
    public bool IsDark { get; private set; }

    public event Action? Changed;

    public void Set(bool dark)
    {
        if (dark == IsDark)
            return;
        IsDark = dark;
        Changed?.Invoke();
    }
}
