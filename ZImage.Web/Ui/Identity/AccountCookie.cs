using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using ZImage.Web.Api.Auth;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// The sign-in cookie of accounts mode. It carries the person's name, role and security stamp; every request checks
/// the stamp against the account as it is now, so removing a person or changing their password ends their sessions
/// on the next request instead of when the 30-day cookie runs out.
/// </summary>
public static class AccountCookie
{
    public const string Name = "zi-auth";
    public const string StampClaim = "zi-stamp";

    public static void Configure(CookieAuthenticationOptions o)
    {
        o.LoginPath = AccountEndpoints.SignInPath;
        o.Cookie.Name = Name;
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.Cookie.HttpOnly = true;
        o.ExpireTimeSpan = TimeSpan.FromDays(30);
        o.SlidingExpiration = true;
        o.Events.OnValidatePrincipal = ValidateAsync;
        // Pictures and API calls are fetched by scripts and tags, not navigated to: they answer 401, never a sign-in page.
        o.Events.OnRedirectToLogin = context =>
        {
            if (IsPage(context.Request))
                context.Response.Redirect(context.RedirectUri);
            else
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        };
    }

    /// <summary>The caller's principal as every way of signing in makes it, plus the stamp this cookie is valid under.</summary>
    public static ClaimsPrincipal Principal(Account account)
    {
        var principal = CallerAuthentication.Principal(account.Name, account.IsAdmin, sharesByDefault: false, CookieAuthenticationDefaults.AuthenticationScheme);
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(StampClaim, account.Stamp ?? ""));
        return principal;
    }

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var name = context.Principal?.Identity?.Name;
        var account = name is null ? null : await context.HttpContext.RequestServices.GetRequiredService<AccountStore>().FindAsync(name, context.HttpContext.RequestAborted);
        if (account is not null && (account.Stamp ?? "") == (context.Principal!.FindFirstValue(StampClaim) ?? ""))
        {
            // An administrator made a plain member (or the reverse) is what the account says, not what the cookie remembers.
            if (account.IsAdmin != context.Principal!.IsInRole(UiRoles.Admin))
            {
                context.ReplacePrincipal(Principal(account));
                context.ShouldRenew = true;
            }
            return;
        }
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    private static bool IsPage(HttpRequest request) =>
        !(request.Path.StartsWithSegments("/ui/images") || request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/sdapi")
          || request.Path.StartsWithSegments("/_blazor"));
}
