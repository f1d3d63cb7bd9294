namespace ZImage.Web.Ui.Theming;

public static class UiThemes
{
    public const string CookieName = "zi-theme";
    public const string Dark = "dark";
    public const string Light = "light";

    public static string RadzenTheme(bool dark) => dark ? "material-dark" : "material";

    public static bool IsDark(string? radzenTheme) => radzenTheme?.EndsWith("-dark", StringComparison.Ordinal) == true;
}
