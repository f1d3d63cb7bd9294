using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Api.Auth;

/// <summary>
/// Works out who is calling. Open mode (the default, for a team on localhost) trusts a display name from the
/// <c>X-ZImage-User</c> header, else the <c>zimage-user</c> cookie, else the UI's own name cookie <c>zi-user</c>
/// (so a browser that picked a name on the pages is the same user in the API); values may be percent-encoded
/// UTF-8 so Chinese names survive headers. Names are normalised as the UI does (trimmed, inner whitespace
/// collapsed, at most 40 characters) and compare case-insensitively. No name: <see cref="AnonymousUser"/>.
/// Accounts mode demands <c>Authorization: Bearer zit_...</c>; a valid token in open mode is honoured too.
/// </summary>
public sealed class CallerResolver(IOptionsMonitor<ApiOptions> options, IOptionsMonitor<UiOptions> ui, ApiTokenStore tokens, AccountStore accounts)
{
    public const string UserHeader = "X-ZImage-User";
    public const string UserCookie = "zimage-user";
    /// <summary>The cookie the Blazor UI's name picker writes (ZImage.Web.Ui.Identity.UiUser.NameCookie).</summary>
    public const string UiNameCookie = "zi-user";
    public const string AnonymousUser = "anonymous";
    /// <summary>Same limit as the UI's name picker, so a name valid in one is valid in the other.</summary>
    public const int MaxUserNameLength = UiUser.MaxNameLength;

    public async Task<CallerResolution> ResolveAsync(HttpContext http)
    {
        var mode = options.CurrentValue.AuthMode;
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return CallerResolution.Fail(StatusCodes.Status401Unauthorized, "The Authorization header must be 'Bearer <token>'.");
            var token = await tokens.ValidateAsync(authorization["Bearer ".Length..].Trim(), http.RequestAborted);
            if (token is null)
                return CallerResolution.Fail(StatusCodes.Status401Unauthorized, "The API token is unknown or revoked. Create one in Settings.");
            if (ui.CurrentValue.Mode != UserMode.Accounts)
                return CallerResolution.Ok(new Caller(token.User, token.IsAdmin, SharedGallery: mode == ApiAuthMode.Open));
            // With people signing in, a token lives only as long as its person and their credentials: removal or a new
            // password (a new stamp) ends every token made before it.
            var account = await accounts.FindAsync(token.User, http.RequestAborted);
            if (account is null || token.CreatedAt.ToUnixTimeMilliseconds() < (account.StampedAt?.ToUnixTimeMilliseconds() ?? long.MinValue))
                return CallerResolution.Fail(StatusCodes.Status401Unauthorized, "The API token is unknown or revoked. Create one in Settings.");
            return CallerResolution.Ok(new Caller(account.Name, token.IsAdmin && account.IsAdmin));
        }

        // A browser's EventSource cannot send Authorization: on endpoints that say so (a person's own job events), the
        // sign-in cookie stands in. It is the cookie the pages use, checked against the account's stamp on this request.
        if (http.GetEndpoint()?.Metadata.GetMetadata<SignedInBrowserMayCall>() is not null && http.User.Identity is { IsAuthenticated: true, Name: { } signedIn })
            return CallerResolution.Ok(new Caller(signedIn, http.User.IsInRole(UiRoles.Admin)));

        if (mode == ApiAuthMode.Accounts)
            return CallerResolution.Fail(StatusCodes.Status401Unauthorized, "This server runs in accounts mode: send 'Authorization: Bearer <token>' with a token created in Settings.");

        var (raw, source) = (http.Request.Headers[UserHeader].ToString(), UserHeader);
        foreach (var cookieName in new[] { UserCookie, UiNameCookie })
        {
            if (raw.Length == 0 && http.Request.Cookies.TryGetValue(cookieName, out var cookie))
                (raw, source) = (cookie, cookieName);
        }
        if (raw.Length == 0)
            return CallerResolution.Ok(MakeCaller(AnonymousUser));

        var name = Normalize(Uri.UnescapeDataString(raw));
        if (name is null)
            return CallerResolution.Fail(StatusCodes.Status400BadRequest,
                $"{source} must be a display name of 1 to {MaxUserNameLength} printable characters.", source);
        return CallerResolution.Ok(MakeCaller(name));
    }

    /// <summary>The one rule for names: <see cref="UiUser.Normalize"/>.</summary>
    public static string? Normalize(string? name) => UiUser.Normalize(name);

    private Caller MakeCaller(string name) =>
        new(name, options.CurrentValue.Admins.Contains(name, Caller.NameComparer), SharedGallery: true);
}

/// <summary>Endpoint metadata: a signed-in browser's cookie identifies the caller here, as a token would.</summary>
public sealed class SignedInBrowserMayCall;

public sealed record CallerResolution(Caller? Caller, int Status, string? Error, string? Field)
{
    public static CallerResolution Ok(Caller caller) => new(caller, StatusCodes.Status200OK, null, null);

    public static CallerResolution Fail(int status, string error, string? field = null) => new(null, status, error, field);
}

/// <summary>Runs on every API route group: resolves the caller once and answers 401/400 before the handler runs.</summary>
public sealed class CallerFilter : IEndpointFilter
{
    private static readonly object Key = new();

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var resolution = await http.RequestServices.GetRequiredService<CallerResolver>().ResolveAsync(http);
        if (resolution.Caller is null)
        {
            if (resolution.Status == StatusCodes.Status401Unauthorized)
                http.Response.Headers.WWWAuthenticate = "Bearer realm=\"zimage\"";
            return ApiProblems.Status(resolution.Status, resolution.Error!, resolution.Field);
        }
        http.Items[Key] = resolution.Caller;
        return await next(context);
    }

    public static Caller Get(HttpContext http) =>
        http.Items.TryGetValue(Key, out var c) && c is Caller caller
            ? caller
            : throw new InvalidOperationException("CallerFilter did not run for this endpoint; add it to the route group.");
}

public static class CallerHttpContextExtensions
{
    public static Caller Caller(this HttpContext http) => CallerFilter.Get(http);
}
