using System.ComponentModel.DataAnnotations;

namespace ZImage.Engine.Models.Install.Hub;

/// <summary>Section <c>ZImage:Install:Hub</c>: where checkpoints are downloaded from and how; validated at start-up.</summary>
public sealed class HubOptions : IValidatableObject
{
    public const string Section = "ZImage:Install:Hub";
    public const string OfficialHuggingFace = "https://huggingface.co";
    public const string OfficialModelScope = "https://www.modelscope.cn";

    /// <summary>
    /// Hugging Face or a mirror with the same URL shapes (users in mainland China often use one). Defaults to
    /// HF_ENDPOINT when that is set, as huggingface_hub does, so a machine already pointed at a mirror stays on it.
    /// </summary>
    public string HuggingFaceEndpoint { get; set; } = Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : OfficialHuggingFace;

    public string ModelScopeEndpoint { get; set; } = OfficialModelScope;

    /// <summary>
    /// Sent as a bearer token to the Hugging Face endpoint's own host (never to the storage hosts it redirects to),
    /// for gated repositories. Defaults to HF_TOKEN, as huggingface_hub does.
    /// </summary>
    public string? HuggingFaceToken { get; set; } = Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } t ? t : null;

    /// <summary>
    /// An HTTP proxy for the downloads only (e.g. http://127.0.0.1:7890). Empty uses the environment, as every .NET
    /// client does: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (upper or lower case).
    /// </summary>
    public string? Proxy { get; set; }

    /// <summary>Downloads land in <c>CacheDirectory/{hub}/{owner}/{name}/{revision}/</c>. Relative paths are relative to the content root.</summary>
    [Required]
    public string CacheDirectory { get; set; } = Path.Combine("data", "hub-cache");

    /// <summary>Files fetched at once (one connection each). Hubs throttle clients that open many.</summary>
    [Range(1, 16)]
    public int MaxConnections { get; set; } = 4;

    /// <summary>Tries per request on a transport error, 5xx, 408 or 429; a try that moved bytes does not count.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>First back-off delay; it doubles per failed try (with jitter), up to <see cref="MaxRetryDelaySeconds"/>.</summary>
    [Range(0.001, 60)]
    public double RetryBaseDelaySeconds { get; set; } = 1;

    [Range(0.001, 600)]
    public double MaxRetryDelaySeconds { get; set; } = 60;

    /// <summary>A connection that delivers no byte for this long is dropped and the file resumed on a new one.</summary>
    [Range(1, 3600)]
    public double StallTimeoutSeconds { get; set; } = 60;

    /// <summary>Least time between two progress reports (0 reports every chunk); the UI redraws on each.</summary>
    [Range(0, 10_000)]
    public int ProgressIntervalMilliseconds { get; set; } = 200;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, value) in new[] { (nameof(HuggingFaceEndpoint), HuggingFaceEndpoint), (nameof(ModelScopeEndpoint), ModelScopeEndpoint) })
        {
            if (!IsHttpUrl(value))
                yield return new ValidationResult($"{Section}:{name} must be an absolute http:// or https:// URL without a query (got '{value}'{(name == nameof(HuggingFaceEndpoint) ? "; HF_ENDPOINT sets its default" : "")}).", [name]);
        }
        if (!string.IsNullOrEmpty(Proxy) && !IsHttpUrl(Proxy))
            yield return new ValidationResult($"{Section}:{nameof(Proxy)} must be empty (use the environment) or an http:// URL such as http://127.0.0.1:7890 (got '{Proxy}').", [nameof(Proxy)]);
        if (MaxRetryDelaySeconds < RetryBaseDelaySeconds)
            yield return new ValidationResult($"{Section}:{nameof(MaxRetryDelaySeconds)} must be at least {nameof(RetryBaseDelaySeconds)} ({RetryBaseDelaySeconds}).", [nameof(MaxRetryDelaySeconds)]);
    }

    public string EndpointFor(HubKind hub) => hub switch
    {
        HubKind.HuggingFace => HuggingFaceEndpoint,
        HubKind.ModelScope => ModelScopeEndpoint,
        _ => throw new ArgumentOutOfRangeException(nameof(hub), hub, "HubKind must be HuggingFace or ModelScope."),
    };

    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Query.Length == 0;
}
