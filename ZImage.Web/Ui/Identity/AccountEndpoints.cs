using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// Sign-in for accounts mode. Plain form posts (with the antiforgery token the forms carry), because the sign-in
/// cookie must be set on an HTTP response, which a live Blazor circuit does not have.
/// </summary>
public static class AccountEndpoints
{
    public const string SignInPath = "/signin";

    public static void MapZImageAccounts(this IEndpointRouteBuilder app)
    {
        app.MapPost("/ui/signin", async (HttpContext http, AccountStore accounts, [FromForm] string? name, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var account = await accounts.VerifyAsync(name ?? "", password ?? "", http.RequestAborted);
            if (account is null)
                return Results.LocalRedirect($"{SignInPath}?error=signin&returnUrl={Uri.EscapeDataString(Local(returnUrl))}");
            await SignInAsync(http, account);
            return Results.LocalRedirect(Local(returnUrl));
        }).AllowAnonymous().RequireRateLimiting(SignInRateLimit.Policy);

        app.MapPost("/ui/setup-admin", async (HttpContext http, AccountStore accounts, [FromForm] string? name, [FromForm] string? password) =>
        {
            var problems = await accounts.CreateAsync(name ?? "", password ?? "", isAdmin: true, onlyIfNone: true, http.RequestAborted);
            if (problems.Count > 0)
                return Results.LocalRedirect($"{SignInPath}?error={Uri.EscapeDataString(problems[0].TextKey)}");
            var account = await accounts.VerifyAsync(name ?? "", password ?? "", http.RequestAborted);
            await SignInAsync(http, account!);
            return Results.LocalRedirect("/settings");
        }).AllowAnonymous().RequireRateLimiting(SignInRateLimit.Policy);

        app.MapPost("/ui/signout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            // No form field is bound here, so the framework would not check the token itself; a forged sign-out is refused too.
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect(SignInPath);
        }).AllowAnonymous();
    }

    private static Task SignInAsync(HttpContext http, Account account) =>
        http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, AccountCookie.Principal(account), new AuthenticationProperties { IsPersistent = true });

    /// <summary>Only paths on this site: a crafted returnUrl must not send people elsewhere.</summary>
    private static string Local(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url
            : "/";
}
