using Microsoft.Extensions.Options;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Theming;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// In accounts mode a person's language and theme follow them: what they choose in the header is kept in the store
/// (<see cref="IPeopleStore"/>, shared by every studio process on PostgreSQL), and each sign-in, on any browser or machine,
/// sets the browser's language and theme cookies from it, the same cookies the pages read. Open mode names nobody for
/// sure, so only the browser's cookies keep the choice there.
/// </summary>
public sealed class PersonPreferences(IPeopleStore people, IOptions<UiOptions> options)
{
    public const string Language = "language", Theme = "theme";

    /// <summary>Keeps the signed-in person's choice; nothing in open mode or before sign-in.</summary>
    public async Task SaveAsync(UiUser user, string key, string value, CancellationToken ct = default)
    {
        if (options.Value.Mode != UserMode.Accounts || user.Name is not { } name)
            return;
        await people.SavePreferenceAsync(name, key, value, ct);
    }

    /// <summary>At sign-in: the person's kept choices become this browser's cookies (unknown values are left out).</summary>
    public async Task ApplyAsync(HttpContext http, string name)
    {
        var kept = await people.ReadPreferencesAsync(name, http.RequestAborted);
        var cookie = new CookieOptions { Path = "/", MaxAge = TimeSpan.FromDays(365), SameSite = SameSiteMode.Lax, IsEssential = true };
        if (kept.TryGetValue(Language, out var language) && language == UiLanguages.Parse(language).Code())
            http.Response.Cookies.Append(UiLanguages.CookieName, language, cookie);
        if (kept.TryGetValue(Theme, out var theme) && theme is UiThemes.Dark or UiThemes.Light)
            http.Response.Cookies.Append(UiThemes.CookieName, theme, cookie);
    }
}
