namespace ZImage.Engine.Models.Install.Hub;

/// <summary>Why a download stopped; the UI words each kind in the user's language from the fields beside it.</summary>
public enum HubFailure
{
    /// <summary>No connection to <see cref="HubDownloadException.Host"/> (refused, unresolvable, timed out, TLS).</summary>
    Unreachable,
    /// <summary>The hub answered with an error status (<see cref="HubDownloadException.Status"/>) after the retries.</summary>
    HubError,
    /// <summary>401/403: the repository is gated or private and needs a token.</summary>
    Unauthorized,
    /// <summary>404: no such repository, revision or file.</summary>
    NotFound,
    /// <summary>The listing could not be read (not the hub's JSON shape).</summary>
    BadListing,
    /// <summary>The bytes did not match the published SHA-256 twice in a row.</summary>
    HashMismatch,
    /// <summary>Another download (another process, or another install in this one) is writing the same file of the cache.</summary>
    InUse,
    /// <summary>The cache folder's disk has too little room (<see cref="HubDownloadException.NeededBytes"/> vs <see cref="HubDownloadException.FreeBytes"/>).</summary>
    DiskFull,
}

/// <summary>A download that cannot go on; the message names the host, file or byte counts a user needs to act.</summary>
public sealed class HubDownloadException(HubFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public HubFailure Failure { get; } = failure;
    public string? Host { get; init; }
    public string? File { get; init; }
    public int? Status { get; init; }
    public long? NeededBytes { get; init; }
    public long? FreeBytes { get; init; }
}
