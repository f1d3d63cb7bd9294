using System.Globalization;

namespace ZImage.Web.Ui.I18n;

/// <summary>
/// The language of one browser session. Components read labels through the indexer and re-render on
/// <see cref="Changed"/>, so switching language updates the page in place without a reload.
/// </summary>
public sealed class Localizer
{
    public UiLanguage Language { get; private set; } = UiLanguage.English;

    public event Action? Changed;

    public string this[string key] => UiText.Get(key, Language);

    /// <summary>A label with placeholders ({0}, {1}…), formatted with the language's culture.</summary>
    public string Format(string key, params object?[] args) =>
        string.Format(Culture, UiText.Get(key, Language), args);

    /// <summary>"1 picture" / "3 pictures": <c>{key}.one</c> when there is one, <c>{key}</c> otherwise (Chinese has one form).</summary>
    public string Count(string key, int count) => Format(count == 1 ? key + ".one" : key, count);

    public CultureInfo Culture => CultureInfo.GetCultureInfo(Language.Code());

    public void SetLanguage(UiLanguage language)
    {
        if (language == Language)
            return;
        Language = language;
        Changed?.Invoke();
    }
}
