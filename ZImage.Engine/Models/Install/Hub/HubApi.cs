using System.Text.Json;
using System.Text.RegularExpressions;

namespace ZImage.Engine.Models.Install.Hub;

/// <summary>
/// The URL and JSON shapes of one hub (docs/model-format.md, "Sources"): where the file listing is, how it reads, and
/// where one file is fetched from. A mirror of a hub uses the same shapes under another endpoint.
/// </summary>
internal abstract partial class HubApi
{
    public static HubApi For(HubKind hub) => hub switch
    {
        HubKind.HuggingFace => new HuggingFaceApi(),
        HubKind.ModelScope => new ModelScopeApi(),
        _ => throw new ArgumentOutOfRangeException(nameof(hub), hub, "HubKind must be HuggingFace or ModelScope."),
    };

    /// <summary>Folder name of this hub in the cache.</summary>
    public abstract string CacheName { get; }

    /// <summary>The revision as this hub names it: "main" stands for the default branch, which ModelScope calls "master".</summary>
    public virtual string Revision(HubSource source) => source.Revision;

    public abstract Uri FileUri(Uri endpoint, HubSource source, string path);

    /// <summary>Every file of the repository at the revision, with size and (where the hub publishes it) SHA-256.</summary>
    public abstract Task<IReadOnlyList<HubFile>> ListAsync(HubHttp http, Uri endpoint, HubSource source, string? token, CancellationToken ct);

    protected static async Task<(JsonDocument Json, string? NextLink)> GetJsonAsync(HubHttp http, Uri uri, string? token, CancellationToken ct)
    {
        using var response = await http.GetAsync(uri, token, uri.GetLeftPart(UriPartial.Authority), null, null, ct);
        string? next = response.Headers.TryGetValues("Link", out var links) ? NextLink(string.Join(",", links)) : null;
        // A listing is a few hundred KB at most: one stall timeout for all of it keeps a silent server from hanging the plan.
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
        silence.CancelAfter(http.StallTimeout);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(silence.Token);
            return (await JsonDocument.ParseAsync(body, cancellationToken: silence.Token), next);
        }
        catch (JsonException e)
        {
            throw BadListing(uri, "it is not JSON", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new TransientHubException(uri, null, null, null, e);
        }
    }

    protected static HubDownloadException BadListing(Uri uri, string why, Exception? inner = null) =>
        new(HubFailure.BadListing, $"The file listing from {uri.Host} could not be read: {why}. Is the endpoint a {(uri.AbsolutePath.Contains("/api/v1/") ? "ModelScope" : "Hugging Face")} hub or mirror?", inner) { Host = uri.Host };

    /// <summary>A published SHA-256 as 64 lower-case hex digits; anything else (empty for folders, a git SHA-1) is no hash.</summary>
    protected static string? Sha256OrNull(JsonElement value) =>
        value.ValueKind == JsonValueKind.String && value.GetString() is { Length: 64 } s && s.All(char.IsAsciiHexDigit) ? s.ToLowerInvariant() : null;

    protected static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    /// <summary>The "next" URL of a GitHub-style Link header, which Hugging Face uses to page long listings.</summary>
    internal static string? NextLink(string header)
    {
        foreach (Match m in LinkPart().Matches(header))
        {
            if (m.Groups["rel"].Value.Split(' ').Contains("next"))
                return m.Groups["url"].Value;
        }
        return null;
    }

    [GeneratedRegex("""<(?<url>[^>]+)>\s*;\s*rel="?(?<rel>[^";,]+)"?""")]
    private static partial Regex LinkPart();
}

/// <summary>
/// Hugging Face: <c>GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true</c> (paged by Link headers) lists
/// <c>{type, path, size, oid, lfs?: {oid = sha256, size}}</c>; files are at <c>{endpoint}/{repo}/resolve/{revision}/{path}</c>,
/// which redirects LFS files to a storage host.
/// </summary>
internal sealed class HuggingFaceApi : HubApi
{
    public override string CacheName => "huggingface";

    public override Uri FileUri(Uri endpoint, HubSource source, string path) =>
        new($"{endpoint.AbsoluteUri.TrimEnd('/')}/{source.Repository}/resolve/{Uri.EscapeDataString(source.Revision)}/{EscapePath(path)}");

    public override async Task<IReadOnlyList<HubFile>> ListAsync(HubHttp http, Uri endpoint, HubSource source, string? token, CancellationToken ct)
    {
        var files = new List<HubFile>();
        Uri? page = new($"{endpoint.AbsoluteUri.TrimEnd('/')}/api/models/{source.Repository}/tree/{Uri.EscapeDataString(source.Revision)}?recursive=true");
        for (int pages = 0; page is not null; pages++)
        {
            if (pages > 1000)
                throw BadListing(page, "it pages without end");
            var current = page;
            var (json, next) = await http.RetryAsync(() => GetJsonAsync(http, current, token, ct), () => false, ct);
            using (json)
            {
                if (json.RootElement.ValueKind != JsonValueKind.Array)
                    throw BadListing(current, "expected a JSON array of entries");
                foreach (var entry in json.RootElement.EnumerateArray())
                {
                    if (entry.TryGetProperty("type", out var type) && type.GetString() != "file")
                        continue;
                    if (!entry.TryGetProperty("path", out var path) || !entry.TryGetProperty("size", out var size) || !size.TryGetInt64(out long bytes))
                        throw BadListing(current, "an entry lacks path or size");
                    string? sha256 = entry.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object && lfs.TryGetProperty("oid", out var oid)
                        ? Sha256OrNull(oid)
                        : null; // small files are plain git blobs: the listing gives only their git SHA-1, so size is what is checked
                    files.Add(new HubFile(path.GetString()!, bytes, sha256));
                }
            }
            page = next is null ? null : new Uri(current, next);
        }
        return files;
    }
}

/// <summary>
/// ModelScope: <c>GET {endpoint}/api/v1/models/{repo}/repo/files?Revision={rev}&amp;Recursive=true</c> answers
/// <c>{Code: 200, Success: true, Data: {Files: [{Path, Size, Sha256, Type: blob|tree}]}}</c>; a file is at
/// <c>{endpoint}/api/v1/models/{repo}/repo?Revision={rev}&amp;FilePath={path}</c>.
/// </summary>
internal sealed class ModelScopeApi : HubApi
{
    public override string CacheName => "modelscope";

    public override string Revision(HubSource source) => source.Revision == "main" ? "master" : source.Revision;

    public override Uri FileUri(Uri endpoint, HubSource source, string path) =>
        new($"{endpoint.AbsoluteUri.TrimEnd('/')}/api/v1/models/{source.Repository}/repo?Revision={Uri.EscapeDataString(Revision(source))}&FilePath={Uri.EscapeDataString(path)}");

    public override async Task<IReadOnlyList<HubFile>> ListAsync(HubHttp http, Uri endpoint, HubSource source, string? token, CancellationToken ct)
    {
        var uri = new Uri($"{endpoint.AbsoluteUri.TrimEnd('/')}/api/v1/models/{source.Repository}/repo/files?Revision={Uri.EscapeDataString(Revision(source))}&Recursive=true");
        var (json, _) = await http.RetryAsync(() => GetJsonAsync(http, uri, token, ct), () => false, ct);
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Code", out var code))
                throw BadListing(uri, "expected an object with Code and Data");
            if (code.ValueKind != JsonValueKind.Number || code.GetInt32() != 200 || (root.TryGetProperty("Success", out var ok) && ok.ValueKind == JsonValueKind.False))
            {
                string message = root.TryGetProperty("Message", out var m) ? m.ToString() : "no message";
                throw new HubDownloadException(HubFailure.NotFound, $"{uri.Host} refused the listing of {source.Repository} at {Revision(source)}: {message}") { Host = uri.Host };
            }
            if (!root.TryGetProperty("Data", out var data) || !data.TryGetProperty("Files", out var list) || list.ValueKind != JsonValueKind.Array)
                throw BadListing(uri, "Data.Files is missing");
            var files = new List<HubFile>();
            foreach (var entry in list.EnumerateArray())
            {
                if (entry.TryGetProperty("Type", out var type) && type.GetString() != "blob")
                    continue;
                if (!entry.TryGetProperty("Path", out var path) || !entry.TryGetProperty("Size", out var size) || !size.TryGetInt64(out long bytes))
                    throw BadListing(uri, "an entry lacks Path or Size");
                string? sha256 = entry.TryGetProperty("Sha256", out var sha) ? Sha256OrNull(sha) : null;
                files.Add(new HubFile(path.GetString()!, bytes, sha256));
            }
            return files;
        }
    }
}
