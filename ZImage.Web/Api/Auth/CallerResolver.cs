using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Api.Auth;

/// <summary>
/// Works out who is calling, through the authentication handlers (<see cref="CallerAuthentication"/>): an API token
/// first (in either mode), then the signed-in browser's cookie where the endpoint allows it, then in open mode the
/// display name. One principal, one <see cref="Caller"/>. Names compare case-insensitively.
/// </summary>
public sealed class CallerResolver(IOptionsMonitor<ApiOptions> options)
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
        var token = await http.AuthenticateAsync(CallerAuthentication.TokenScheme);
        if (token.Succeeded)
            return CallerResolution.Ok(CallerAuthentication.ToCaller(token.Principal));
        if (token.Failure is { } refused)
            return CallerResolution.Fail(StatusCodes.Status401Unauthorized, refused.Message);

        // A browser's EventSource cannot send Authorization: on endpoints that say so (a person's own job events, the
        // pages' picture files), the sign-in cookie stands in, checked against the account's stamp on this request.
        if (http.GetEndpoint()?.Metadata.GetMetadata<SignedInBrowserMayCall>() is not null && http.User.Identity is { IsAuthenticated: true, Name: not null })
            return CallerResolution.Ok(CallerAuthentication.ToCaller(http.User));

        if (options.CurrentValue.AuthMode == ApiAuthMode.Accounts)
            return CallerResolution.Fail(StatusCodes.Status401Unauthorized, "This server runs in accounts mode: send 'Authorization: Bearer <token>' with a token created in Settings.");

        var name = await http.AuthenticateAsync(CallerAuthentication.NameScheme);
        return name.Succeeded
            ? CallerResolution.Ok(CallerAuthentication.ToCaller(name.Principal))
            : name.Failure is CallerNameException bad
                ? CallerResolution.Fail(StatusCodes.Status400BadRequest, bad.Message, bad.Field)
                : CallerResolution.Fail(StatusCodes.Status400BadRequest, name.Failure?.Message ?? "The caller could not be named.");
    }

    /// <summary>The one rule for names: <see cref="UiUser.Normalize"/>.</summary>
    public static string? Normalize(string? name) => UiUser.Normalize(name);
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
