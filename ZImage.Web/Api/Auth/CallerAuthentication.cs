using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Api.Auth;

/// <summary>
/// The three ways a caller is known, each an ASP.NET Core authentication handler that produces a ClaimsPrincipal:
/// an API token (<see cref="ApiTokenHandler"/>), the accounts-mode sign-in cookie (<see cref="AccountCookie"/>), and the
/// open-mode display name (<see cref="OpenNameHandler"/>). <see cref="ToCaller"/> is the one way from a principal to
/// the engine's <see cref="Caller"/>.
/// </summary>
public static class CallerAuthentication
{
    public const string TokenScheme = "zimage-token";
    public const string NameScheme = "zimage-name";
    /// <summary>
    /// Present (value "true") where pictures are shared with the team unless their owner says otherwise: open mode
    /// (<see cref="Caller.SharesByDefault"/>).
    /// </summary>
    public const string SharesByDefaultClaim = "zi-shares-by-default";

    public static AuthenticationBuilder AddCallerSchemes(this AuthenticationBuilder auth) => auth
        .AddScheme<AuthenticationSchemeOptions, ApiTokenHandler>(TokenScheme, null)
        .AddScheme<AuthenticationSchemeOptions, OpenNameHandler>(NameScheme, null);

    public static ClaimsPrincipal Principal(string name, bool isAdmin, bool sharesByDefault, string scheme)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        if (isAdmin)
            claims.Add(new Claim(ClaimTypes.Role, UiRoles.Admin));
        if (sharesByDefault)
            claims.Add(new Claim(SharesByDefaultClaim, "true"));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    public static Caller ToCaller(ClaimsPrincipal principal) => new(
        principal.Identity?.Name ?? throw new InvalidOperationException("An authenticated caller without a name."),
        principal.IsInRole(UiRoles.Admin),
        principal.HasClaim(SharesByDefaultClaim, "true"));
}

/// <summary>A refusal that names the request part at fault (a header or cookie), answered 400 rather than 401.</summary>
public sealed class CallerNameException(string message, string field) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// <c>Authorization: Bearer zit_...</c>. No header: no result (another way may apply). In accounts mode a token lives only
/// as long as its person and their credentials: removal or a new password ends every token made before it.
/// </summary>
public sealed class ApiTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> scheme, ILoggerFactory logger, UrlEncoder encoder,
    ApiTokenStore tokens, AccountStore accounts, IOptionsMonitor<ApiOptions> api, IOptionsMonitor<UiOptions> ui)
    : AuthenticationHandler<AuthenticationSchemeOptions>(scheme, logger, encoder)
{
    public const string Revoked = "The API token is unknown or revoked. Create one in Settings.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
            return AuthenticateResult.NoResult();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <token>'.");
        var token = await tokens.ValidateAsync(authorization["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (token is null)
            return AuthenticateResult.Fail(Revoked);
        var shared = api.CurrentValue.AuthMode == ApiAuthMode.Open;
        if (ui.CurrentValue.Mode != UserMode.Accounts)
            return Success(token.User, token.IsAdmin, shared);
        var account = await accounts.FindAsync(token.User, Context.RequestAborted);
        if (account is null || token.CreatedAt.ToUnixTimeMilliseconds() < (account.StampedAt?.ToUnixTimeMilliseconds() ?? long.MinValue))
            return AuthenticateResult.Fail(Revoked);
        return Success(account.Name, token.IsAdmin && account.IsAdmin, shared);
    }

    private AuthenticateResult Success(string name, bool isAdmin, bool shared) =>
        AuthenticateResult.Success(new AuthenticationTicket(CallerAuthentication.Principal(name, isAdmin, shared, Scheme.Name), Scheme.Name));
}

/// <summary>
/// Open mode's display name: the <c>X-ZImage-User</c> header, else the <c>zimage-user</c> cookie, else the pages' own
/// name cookie <c>zi-user</c>; percent-encoded UTF-8 allowed; no name at all is <see cref="CallerResolver.AnonymousUser"/>.
/// </summary>
public sealed class OpenNameHandler(IOptionsMonitor<AuthenticationSchemeOptions> scheme, ILoggerFactory logger, UrlEncoder encoder, IOptionsMonitor<ApiOptions> api)
    : AuthenticationHandler<AuthenticationSchemeOptions>(scheme, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (raw, source) = (Request.Headers[CallerResolver.UserHeader].ToString(), CallerResolver.UserHeader);
        foreach (var cookieName in new[] { CallerResolver.UserCookie, CallerResolver.UiNameCookie })
        {
            if (raw.Length == 0 && Request.Cookies.TryGetValue(cookieName, out var cookie))
                (raw, source) = (cookie, cookieName);
        }
        var name = raw.Length == 0 ? CallerResolver.AnonymousUser : UiUser.Normalize(Uri.UnescapeDataString(raw));
        if (name is null)
            return Task.FromResult(AuthenticateResult.Fail(new CallerNameException(
                $"{source} must be a display name of 1 to {CallerResolver.MaxUserNameLength} printable characters.", source)));
        var principal = CallerAuthentication.Principal(name, api.CurrentValue.Admins.Contains(name, Caller.NameComparer), sharesByDefault: true, Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
    }
}
