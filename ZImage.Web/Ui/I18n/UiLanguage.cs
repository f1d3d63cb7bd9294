namespace ZImage.Web.Ui.I18n;

public enum UiLanguage
{
    English,
    Chinese,
}

public static class UiLanguages
{
    public const string CookieName = "zi-lang";

    /// <summary>The value stored in the cookie and put on &lt;html lang&gt;.</summary>
    public static string Code(this UiLanguage language) => language == UiLanguage.Chinese ? "zh-CN" : "en";

    /// <summary>Unknown or missing codes fall back to English rather than failing the page.</summary>
    public static UiLanguage Parse(string? code) =>
        code is not null && code.StartsWith("zh", StringComparison.OrdinalIgnoreCase) ? UiLanguage.Chinese : UiLanguage.English;
}
