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
    public const string PasswordSection = "/settings";

    public static void MapZImageAccounts(this IEndpointRouteBuilder app)
    {
        app.MapPost("/ui/signin", async (HttpContext http, AccountStore accounts, PersonPreferences preferences,
            [FromForm] string? name, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var account = await accounts.VerifyAsync(name ?? "", password ?? "", http.RequestAborted);
            if (account is null)
                return Results.LocalRedirect($"{SignInPath}?error=signin&returnUrl={Uri.EscapeDataString(Local(returnUrl))}");
            await SignInAsync(http, account);
            await preferences.ApplyAsync(http, account.Name);
            return Results.LocalRedirect(Local(returnUrl));
        }).AllowAnonymous().RequireRateLimiting(SignInRateLimit.Policy);

        app.MapPost("/ui/setup-admin", async (HttpContext http, AccountStore accounts, AccountSetup setup,
            [FromForm] string? name, [FromForm] string? password, [FromForm] string? confirm, [FromForm] string? setupCode) =>
        {
            var problem = !await setup.MatchesAsync(setupCode, http.RequestAborted) ? "accounts.problem.setupCode"
                : password != confirm ? "accounts.problem.confirm"
                : (await accounts.CreateAsync(name ?? "", password ?? "", isAdmin: true, onlyIfNone: true, http.RequestAborted)).FirstOrDefault()?.TextKey;
            if (problem is not null)
                return Results.LocalRedirect($"{SignInPath}?error={Uri.EscapeDataString(problem)}");
            setup.Spend();
            var account = await accounts.VerifyAsync(name ?? "", password ?? "", http.RequestAborted);
            await SignInAsync(http, account!);
            return Results.LocalRedirect("/settings");
        }).AllowAnonymous().RequireRateLimiting(SignInRateLimit.Policy);

        // Everyone changes their own password; it takes the current one, so a browser left signed in is not enough.
        app.MapPost("/ui/password", async (HttpContext http, AccountStore accounts,
            [FromForm] string? current, [FromForm] string? password, [FromForm] string? confirm) =>
        {
            var name = http.User.Identity?.Name ?? "";
            var problem = password != confirm ? "accounts.problem.confirm"
                : (password ?? "").Length < AccountStore.MinPasswordLength ? "accounts.problem.password"
                : await accounts.VerifyAsync(name, current ?? "", http.RequestAborted) is null ? "accounts.problem.current"
                : null;
            if (problem is null && !await accounts.SetPasswordAsync(name, password!, http.RequestAborted))
                problem = "accounts.problem.password";
            if (problem is not null)
                return Results.LocalRedirect($"{PasswordSection}?passwordError={Uri.EscapeDataString(problem)}");
            // The new stamp ends every other session and token of this person; this browser gets a fresh cookie.
            await SignInAsync(http, (await accounts.FindAsync(name, http.RequestAborted))!);
            return Results.LocalRedirect($"{PasswordSection}?password=changed");
        }).RequireAuthorization().RequireRateLimiting(SignInRateLimit.Policy);

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

    /// <summary>
    /// Only paths on this site: a crafted returnUrl must not send people elsewhere. Control characters are refused
    /// too: browsers drop a tab inside a URL, so "/\t/evil.example" would become "//evil.example" (LocalRedirect throws on it).
    /// </summary>
    private static string Local(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            && !url.Any(char.IsControl)
            ? url
            : "/";
}
