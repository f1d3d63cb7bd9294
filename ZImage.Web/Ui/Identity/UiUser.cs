using System.Globalization;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// Who is using this browser session. In open mode the name is the one picked on first visit (kept in a
/// cookie); in accounts mode it comes from the sign-in cookie. Jobs and history belong to this name.
/// </summary>
public sealed class UiUser(IOptions<UiOptions>? options = null)
{
    // An open studio is the team's: pictures are shared unless their owner says otherwise (Caller.SharesByDefault).
    private readonly bool _sharesByDefault = (options?.Value.Mode ?? UserMode.Open) == UserMode.Open;

    public const string NameCookie = "zi-user";
    public const int MaxNameLength = 40;

    public string? Name { get; private set; }
    public bool IsAdmin { get; private set; }

    public bool HasName => Name is not null;

    public Caller Caller => new(Name ?? throw new InvalidOperationException("No display name picked yet."), IsAdmin, _sharesByDefault);

    /// <summary>
    /// Who is looking, for History: the person, or before a name is picked someone who owns nothing (and so sees only
    /// what is shared with the team).
    /// </summary>
    public Caller Viewer => HasName ? Caller : new Caller("", IsAdmin: false, _sharesByDefault);

    public event Action? Changed;

    /// <summary>Accounts mode: the account's security stamp when this session signed in (see <see cref="AccountCircuitGuard"/>).</summary>
    public string? Stamp { get; private set; }

    public void SignIn(string name, bool isAdmin, string? stamp = null)
    {
        Stamp = stamp;
        Name = Normalize(name) ?? throw new ArgumentException("A display name is required.", nameof(name));
        IsAdmin = isAdmin;
        Changed?.Invoke();
    }

    /// <summary>
    /// Trimmed, inner whitespace collapsed; null when nothing usable is left. The one rule for names everywhere (pages,
    /// API header and cookies, accounts). Invisible characters are refused: zero-width and right-to-left marks (Unicode
    /// format characters) would let "admin\u200b" or a mirrored name pass for someone else.
    /// </summary>
    public static string? Normalize(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            return null;
        var collapsed = string.Join(' ', name.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (collapsed.Length > MaxNameLength || HasInvisible(collapsed))
            return null;
        return collapsed;
    }

    /// <summary>Decoded as code points, so a lone surrogate is refused and Chinese or emoji beyond the BMP are not.</summary>
    private static bool HasInvisible(string name)
    {
        for (var i = 0; i < name.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf16(name.AsSpan(i), out var rune, out var used) != System.Buffers.OperationStatus.Done)
                return true;
            if (System.Text.Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                return true;
            i += used;
        }
        return false;
    }
}
