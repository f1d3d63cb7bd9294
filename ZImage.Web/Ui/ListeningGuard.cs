using System.Net;

namespace ZImage.Web.Ui;

/// <summary>
/// Open mode trusts whoever can reach the page, which is only acceptable on this machine. Before Kestrel binds,
/// every configured address is checked; anything beyond loopback in open mode stops the start with a sentence.
/// The check reads the final configuration (command line, environment, appsettings and data/settings.json alike):
/// the mode and the addresses may come from any of them.
/// </summary>
public static class ListeningGuard
{
    public static IEnumerable<string> ConfiguredUrls(IConfiguration configuration)
    {
        foreach (var key in new[] { "urls", "ASPNETCORE_URLS" })
        {
            foreach (var url in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                yield return url;
        }
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
                yield return url;
        }
        // http_ports / https_ports bind every interface.
        foreach (var key in new[] { "http_ports", "https_ports", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" })
        {
            foreach (var port in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                yield return $"http://*:{port}";
        }
    }

    public static bool IsLoopback(string url)
    {
        var host = url;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
            host = host[(scheme + 3)..];
        var slash = host.IndexOf('/');
        if (slash >= 0)
            host = host[..slash];
        if (host.StartsWith('['))
            host = host[1..host.IndexOf(']')];
        else if (host.LastIndexOf(':') is var colon and >= 0)
            host = host[..colon];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }

    /// <summary>The refusal, or null when the configuration is safe; the mode is read from the same configuration.</summary>
    public static string? Check(IConfiguration configuration)
    {
        var raw = configuration[$"{UiOptions.Section}:Mode"];
        if (raw is not null && !Enum.TryParse<UserMode>(raw, ignoreCase: true, out _))
            return $"ZImage:Web:Mode must be 'Open' or 'Accounts' (got '{raw}').";
        return Check(configuration, raw is null ? UserMode.Open : Enum.Parse<UserMode>(raw, ignoreCase: true));
    }

    /// <summary>The refusal, or null when the configuration is safe.</summary>
    public static string? Check(IConfiguration configuration, UserMode mode)
    {
        if (mode == UserMode.Accounts)
            return null;
        var exposed = ConfiguredUrls(configuration).Where(u => !IsLoopback(u)).ToList();
        return exposed.Count == 0
            ? null
            : $"ZImage:Web:Mode is 'Open' (anyone who can reach the page may pick any name), but the app is set to listen on {string.Join(", ", exposed)}, " +
              "which other machines can reach. Set ZImage:Web:Mode to 'Accounts' to require sign-in, or listen on localhost only (for example --urls http://localhost:7860).";
    }
}
