using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace ZImage.Engine.Models.Install.Hub;

/// <summary>
/// The one HTTP door of the downloader: follows redirects itself (so the token goes to the hub's own host only and the
/// Range header to every hop), and retries transport errors, 408, 429 and 5xx with exponential back-off and jitter,
/// honouring Retry-After. Everything else becomes a <see cref="HubDownloadException"/> naming the host.
/// </summary>
internal sealed class HubHttp : IDisposable
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _client;
    private readonly HubOptions _options;
    private readonly IWebProxy _proxy;

    public HubHttp(HubOptions options)
    {
        _options = options;
        // The configured proxy, else HttpClient.DefaultProxy, which on Linux reads HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
        // NO_PROXY (upper or lower case) and goes direct when none is set; kept so an error can name the proxy it used.
        _proxy = string.IsNullOrEmpty(options.Proxy) ? HttpClient.DefaultProxy : new WebProxy(options.Proxy);
        // No automatic decompression: sizes and Range offsets must count the file's own bytes, so no Accept-Encoding is
        // sent. Redirects are followed by hand (see GetAsync).
        var handler = new SocketsHttpHandler
        {
            UseProxy = true,
            Proxy = _proxy,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = options.MaxConnections,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5), // CDN hosts rotate addresses; do not pin one for hours
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ZImage", "1.0"));
    }

    public TimeSpan StallTimeout => TimeSpan.FromSeconds(_options.StallTimeoutSeconds);

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// GET with redirects followed. The bearer token is sent to <paramref name="tokenAuthority"/> only: storage hosts
    /// behind a redirect get signed URLs and must not see it. Throws <see cref="TransientHubException"/> for what a retry
    /// may fix, <see cref="HubDownloadException"/> for what it will not. The response is a 200 or 206.
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(Uri uri, string? token, string? tokenAuthority, long? rangeFrom, string? file, CancellationToken ct)
    {
        var current = uri;
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (token is not null && string.Equals(current.GetLeftPart(UriPartial.Authority), tokenAuthority, StringComparison.OrdinalIgnoreCase))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (rangeFrom is > 0)
                request.Headers.Range = new RangeHeaderValue(rangeFrom, null);

            HttpResponseMessage response;
            // A server that accepts the connection and never answers must not hold the download for ever.
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
            silence.CancelAfter(StallTimeout);
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, silence.Token);
            }
            catch (HttpRequestException e)
            {
                throw new TransientHubException(current, file, null, null, e);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new TransientHubException(current, file, null, null, e);
            }

            int status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (hop >= MaxRedirects)
                    throw new HubDownloadException(HubFailure.HubError, $"{current.Host} redirected more than {MaxRedirects} times for {file ?? current.AbsolutePath}.") { Host = current.Host, File = file, Status = status };
                current = location.IsAbsoluteUri ? location : new Uri(current, location);
                continue;
            }
            if (response.IsSuccessStatusCode || status == 416)
                return response;

            var retryAfter = RetryAfter(response);
            response.Dispose();
            if (status is 408 or 429 or >= 500)
                throw new TransientHubException(current, file, status, retryAfter, null);
            throw Refusal(current, status, file);
        }
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, retrying <see cref="TransientHubException"/>s. A try that moved
    /// bytes (<paramref name="madeProgress"/>) resets the count, so a long download over a flaky line is not given up.
    /// </summary>
    public async Task<T> RetryAsync<T>(Func<Task<T>> attempt, Func<bool> madeProgress, CancellationToken ct)
    {
        int failures = 0;
        while (true)
        {
            try
            {
                return await attempt();
            }
            catch (TransientHubException e)
            {
                failures = madeProgress() ? 1 : failures + 1;
                if (failures >= _options.MaxAttempts)
                    throw GiveUp(e, failures);
                await Task.Delay(Backoff(failures, e.RetryAfter), ct);
            }
        }
    }

    private TimeSpan Backoff(int failures, TimeSpan? retryAfter)
    {
        double max = _options.MaxRetryDelaySeconds;
        if (retryAfter is { } asked)
            return TimeSpan.FromSeconds(Math.Min(asked.TotalSeconds, max));
        double ceiling = Math.Min(max, _options.RetryBaseDelaySeconds * Math.Pow(2, failures - 1));
        // Jitter in [ceiling/2, ceiling]: several files failing together (a hub restart) do not come back in lockstep.
        return TimeSpan.FromSeconds(ceiling * (0.5 + Random.Shared.NextDouble() / 2));
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta;
        if (header?.Date is { } date)
            return date - DateTimeOffset.UtcNow is { Ticks: > 0 } wait ? wait : TimeSpan.Zero;
        return null;
    }

    private HubDownloadException GiveUp(TransientHubException e, int tries)
    {
        if (e.Status is { } status)
            return new HubDownloadException(HubFailure.HubError, $"{e.Host} kept answering HTTP {status} ({tries} tries){For(e.File)}. The hub may be busy or down; try again later or use another source.", e)
            { Host = e.Host, File = e.File, Status = status };
        string reason = e.InnerException switch
        {
            HttpRequestException { InnerException: SocketException s } => s.SocketErrorCode switch
            {
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "the host name could not be resolved",
                SocketError.ConnectionRefused => "the connection was refused",
                SocketError.TimedOut => "the connection timed out",
                _ => s.Message,
            },
            OperationCanceledException => "the connection stalled",
            { } inner => inner.Message,
            null => "the connection failed",
        };
        // Behind a proxy the connection that failed may be the one to the proxy: say which proxy, or the user hunts the hub.
        string via = !_proxy.IsBypassed(e.Uri) && _proxy.GetProxy(e.Uri) is { } proxy && proxy != e.Uri ? $" through the proxy {proxy.Authority}" : "";
        return new HubDownloadException(HubFailure.Unreachable, $"Could not reach {e.Host}{via}: {reason} ({tries} tries){For(e.File)}. Check the network, the proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) or the hub endpoint in Settings.", e)
        { Host = e.Host, File = e.File };
    }

    private static HubDownloadException Refusal(Uri uri, int status, string? file) => status switch
    {
        401 or 403 => new HubDownloadException(HubFailure.Unauthorized, $"{uri.Host} refused access (HTTP {status}){For(file)}: the repository may be gated or private; set a token (HF_TOKEN) that has access.") { Host = uri.Host, File = file, Status = status },
        404 => new HubDownloadException(HubFailure.NotFound, $"{uri.Host} has no {file ?? uri.AbsolutePath} (HTTP 404): check the repository name and revision.") { Host = uri.Host, File = file, Status = status },
        _ => new HubDownloadException(HubFailure.HubError, $"{uri.Host} answered HTTP {status}{For(file)}.") { Host = uri.Host, File = file, Status = status },
    };

    private static string For(string? file) => file is null ? "" : $" while fetching {file}";
}

/// <summary>A failure a later try may not meet: a dropped or refused connection, a stall, 408, 429 or 5xx.</summary>
internal sealed class TransientHubException(Uri uri, string? file, int? status, TimeSpan? retryAfter, Exception? inner)
    : Exception(status is { } s ? $"{uri.Host} answered HTTP {s}" : $"connection to {uri.Host} failed", inner)
{
    public Uri Uri { get; } = uri;

    public string Host => Uri.Host;

    public int? Status { get; } = status;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public string? File { get; } = file;
}
