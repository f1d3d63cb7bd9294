namespace ZImage.Web.Trust;

/// <summary>
/// Headers that make the browser refuse what the studio never does. Every response: nosniff (a picture or a JSON
/// answer is never run as a script or page). Pages: a Content-Security-Policy with only what Blazor Server and MudBlazor
/// need (docs/reliability.md, "Trust boundaries", says how it was found and how it is tested). Everything else (the
/// API, pictures, probes): nothing may load, and nobody may frame it.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// script-src 'self': blazor.web.js, MudBlazor's and our own files; the import map's inline script is allowed by a
    /// nonce made for each page (<see cref="ScriptNonce"/>); no 'unsafe-inline', no 'unsafe-eval' (Blazor Server needs neither). style-src needs 'unsafe-inline': MudBlazor
    /// writes its theme as an inline &lt;style&gt; element and sets style attributes (sliders, popovers), and Blazor sets them too (positions, sizes, the reconnect dialog). connect-src 'self' covers Blazor's WebSocket (same
    /// host and port). img-src data: and blob: carry previews and the empty favicon.
    /// </summary>
    public const string PagePolicyTemplate =
        "default-src 'self'; script-src 'self'{0}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// The API reference page (Scalar) configures itself with an inline script; it holds no studio data and calls only
    /// this origin, so inline scripts are allowed there and nowhere else.
    /// </summary>
    public const string ReferencePolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox";

    private static readonly object NonceKey = new();

    /// <summary>
    /// A fresh random value per response, allowed in script-src: the page's one inline script (Blazor's import map)
    /// carries it, and an injected script cannot know it.
    /// </summary>
    public static string ScriptNonce(HttpContext http)
    {
        if (http.Items[NonceKey] is not string nonce)
            http.Items[NonceKey] = nonce = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        return nonce;
    }

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "same-origin";
            // Replaces the frame-ancestors 'self' that Blazor's interactive render mode sets on its own: ours is stricter.
            var html = http.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true;
            headers.ContentSecurityPolicy = http.Request.Path.StartsWithSegments(Api.ApiSetup.ApiReferencePath) ? ReferencePolicy
                : html
                ? string.Format(System.Globalization.CultureInfo.InvariantCulture, PagePolicyTemplate, http.Items[NonceKey] is string nonce ? $" 'nonce-{nonce}'" : "")
                : ApiPolicy;
            headers.XFrameOptions = "DENY";
            return Task.CompletedTask;
        });
        return next(http);
    });
}
