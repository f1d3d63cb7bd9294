using ZImage.Web.Api;

namespace ZImage.Web.Trust;

/// <summary>
/// Refuses requests that change something when the browser says they come from another origin. In open mode a name
/// cookie is all the identity there is, so any page the person visits (another port on this machine counts: that is
/// "same-site", not "same-origin") could otherwise queue or cancel jobs in their name with a no-cors fetch or a plain
/// form. Browsers mark such requests with <c>Sec-Fetch-Site</c> and <c>Origin</c>; scripts and AUTOMATIC1111 clients
/// send neither and pass. The same rule covers the upgrade of Blazor's WebSocket, which a foreign page could
/// otherwise open with the person's cookies.
/// </summary>
public static class CrossSiteGuard
{
    public static IApplicationBuilder UseCrossSiteGuard(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (ChangesState(http.Request) && Refusal(http.Request) is { } reason)
        {
            await ApiProblems.Status(StatusCodes.Status403Forbidden, reason).ExecuteAsync(http);
            return;
        }
        await next(http);
    });

    private static bool ChangesState(HttpRequest request) =>
        !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method))
        || request.Headers.Upgrade.Count > 0;

    /// <summary>Why the request is refused, or null when it is this site's own or carries no browser origin at all.</summary>
    public static string? Refusal(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        // "none": typed into the address bar or opened from a bookmark; the person asked for it.
        if (site.Length > 0 && site is not ("same-origin" or "none"))
            return $"This request came from another site (Sec-Fetch-Site: {site}); pages of other origins may not change anything here. "
                + "Scripts and API clients send no Origin header and are not affected.";
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
            return null;
        // Host and port decide; the scheme is left out so a TLS-terminating proxy in front (https outside, http here) works.
        if (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase))
            return null;
        return $"This request came from another origin ({origin}, this server is {request.Scheme}://{request.Host}); pages of other origins may not change anything here. "
            + "Scripts and API clients send no Origin header and are not affected.";
    }
}
