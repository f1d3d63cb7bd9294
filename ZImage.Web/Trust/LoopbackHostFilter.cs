using Microsoft.AspNetCore.HostFiltering;
using ZImage.Web.Ui;

namespace ZImage.Web.Trust;

/// <summary>
/// In open mode the studio answers only to loopback host names. A hostile site can point its own name at 127.0.0.1
/// (DNS rebinding) and so become "same origin" with the studio; its requests then still carry its own name in the
/// Host header, and ASP.NET Core's host filtering answers them 400. <c>AllowedHosts</c>, when configured, wins.
/// Accounts mode is meant to be reached by name over the network, and every request there is signed in.
/// </summary>
public static class LoopbackHostFilter
{
    public const string AllowedHostsKey = "AllowedHosts";
    public static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    public static IServiceCollection AddLoopbackHostFilter(this IServiceCollection services, IConfiguration configuration) =>
        services.PostConfigure<HostFilteringOptions>(o =>
        {
            if (configuration[AllowedHostsKey] is { Length: > 0 })
                return;
            var accounts = string.Equals(configuration[$"{UiOptions.Section}:Mode"], nameof(UserMode.Accounts), StringComparison.OrdinalIgnoreCase);
            o.AllowedHosts = accounts ? ["*"] : [.. LoopbackHosts];
        });
}
