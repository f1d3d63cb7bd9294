using System.ComponentModel.DataAnnotations;

namespace ZImage.Web.Api;

/// <summary>How callers are identified: open trusts a display name (a team on localhost), accounts demands a token.</summary>
public enum ApiAuthMode
{
    Open,
    Accounts,
}

/// <summary>Bound from <c>ZImage:Api</c>.</summary>
public sealed class ApiOptions
{
    public const string Section = "ZImage:Api";

    public ApiAuthMode AuthMode { get; set; } = ApiAuthMode.Open;

    /// <summary>
    /// Largest accepted request body. A txt2img body is well under 64 KiB; png-info carries a base64 PNG,
    /// and a 2048x2048 RGB PNG is at most ~12 MiB raw, ~16 MiB as base64.
    /// </summary>
    [Range(64 * 1024, 256L * 1024 * 1024)]
    public long MaxRequestBodyBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Previews cost a PNG encode and bandwidth; the issue caps them at one per half second per stream.</summary>
    [Range(0, 60_000)]
    public int PreviewIntervalMs { get; set; } = 500;

    /// <summary>Preview images are scaled down so their longer side is at most this many pixels.</summary>
    [Range(16, 512)]
    public int PreviewMaxSide { get; set; } = 128;

    /// <summary>User names that may see and cancel everyone's jobs in open mode (accounts mode uses the token's flag).</summary>
    public List<string> Admins { get; set; } = [];

    /// <summary>
    /// Accounts mode only: /metrics answers without a token. Its series name the people who made pictures, so by default a
    /// scraper needs an administrator's token (Prometheus: <c>authorization: { credentials: zit_... }</c>).
    /// </summary>
    public bool PublicMetrics { get; set; }

    /// <summary>How long a synchronous /sdapi/v1/txt2img call waits for its job before answering 504.</summary>
    [Range(1, 24 * 3600)]
    public int SyncTimeoutSeconds { get; set; } = 3600;
}
