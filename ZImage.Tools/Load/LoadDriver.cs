using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZImage.Engine.Memory;

namespace ZImage.Tools.Load;

internal sealed record LoadOptions
{
    public int Users { get; init; } = 20;
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>After the users stop, how long accepted jobs get to finish before the audit counts them as still pending.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromMinutes(2);
    public int Seed { get; init; } = 1;
    /// <summary>Share of followed jobs the user cancels while watching them.</summary>
    public double CancelShare { get; init; } = 0.15;
    public TimeSpan MemorySampleInterval { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan ThinkMin { get; init; } = TimeSpan.FromMilliseconds(300);
    public TimeSpan ThinkMax { get; init; } = TimeSpan.FromMilliseconds(1500);
    /// <summary>Goal for the 99th percentile of the non-generation API calls.</summary>
    public double P99GoalMs { get; init; } = 200;
}

/// <summary>
/// Simulated people against a running ZImage over HTTP: each submits small jobs and follows them over SSE (cancelling
/// some), fires the odd burst it does not watch, browses history and thumbnails, and looks at the queue and the system
/// page, with a pause between actions. Every accepted job is tracked; after the run and a drain, each is read back
/// and must be in a final state with its pictures on disk, or still queued and counted as such: anything else is lost.
/// Latency is measured per call for everything except the event streams (which last as long as a job).
/// </summary>
internal sealed class LoadDriver(HttpClient client, LoadOptions options, Func<long?>? residentBytes, TextWriter? log)
{
    private static readonly string[] Subjects = ["a red fox", "a lighthouse", "一只熊猫", "a bowl of ramen", "a glass city", "mountains at dawn", "a paper boat", "an old tram"];
    private static readonly string[] Styles = ["watercolour", "photograph, 35 mm", "ink drawing", "水彩画", "isometric render", "oil painting"];
    private static readonly int[] Sides = [256, 288, 320];

    private readonly ConcurrentDictionary<string, TrackedJob> _jobs = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<double>> _latency = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly List<MemorySample> _memory = [];
    private readonly Stopwatch _clock = new();
    private long _refused, _serverErrors, _transportErrors, _unexpected, _cancelRequests, _sseStreams, _burstJobs;

    public async Task<LoadReport> RunAsync(CancellationToken ct)
    {
        long? idle = residentBytes?.Invoke();
        Say($"warm-up: one job so the model is loaded before the clock starts (server RSS {Mebibytes.Show(idle)})");
        var warmup = await WarmUpAsync(ct);
        _clock.Start();
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = SampleMemoryAsync(stopSampling.Token);

        var end = _clock.Elapsed + options.Duration;
        var followUntil = end + options.Drain;
        var users = Enumerable.Range(1, options.Users)
            .Select(i => Task.Run(() => UserAsync($"load-{i:00}", new Random(options.Seed * 1000 + i), end, followUntil, ct), ct))
            .ToList();
        var reporter = ReportProgressAsync(end, stopSampling.Token);
        await Task.WhenAll(users);
        var usersDone = _clock.Elapsed;
        Say($"users stopped at {usersDone.TotalSeconds:F0} s; draining the queue (at most {options.Drain.TotalSeconds:F0} s)");
        await DrainAsync(followUntil, ct);
        var drained = _clock.Elapsed - usersDone;

        stopSampling.Cancel();
        await Task.WhenAll(sampler, reporter);
        SampleMemory();
        var audit = await AuditAsync(ct);
        var server = await ReadServerCountsAsync(ct);
        return BuildReport(idle, warmup, audit, server, drained);
    }

    private async Task<long?> WarmUpAsync(CancellationToken ct)
    {
        var id = await SubmitAsync("load-warmup", new Random(options.Seed), burst: false, ct)
                 ?? throw new InvalidOperationException($"the warm-up job was refused: {string.Join("; ", _problems)}");
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.SendAsync(WithUser(HttpMethod.Get, $"api/v1/jobs/{id}", "load-warmup"), ct);
            var status = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("status").GetString();
            if (status is "succeeded")
            {
                _jobs.TryRemove(id, out _);
                return residentBytes?.Invoke();
            }
            if (status is "failed" or "cancelled" or "interrupted")
                throw new InvalidOperationException($"the warm-up job ended as {status}");
            await Task.Delay(100, ct);
        }
        throw new TimeoutException("the warm-up job did not finish within 5 minutes");
    }

    private async Task UserAsync(string user, Random random, TimeSpan end, TimeSpan followUntil, CancellationToken ct)
    {
        var mine = new List<string>();
        while (_clock.Elapsed < end && !ct.IsCancellationRequested)
        {
            var roll = random.NextDouble();
            if (roll < 0.25)
            {
                if (await SubmitAsync(user, random, burst: false, ct) is { } id)
                {
                    mine.Add(id);
                    await FollowAsync(user, id, random.NextDouble() < options.CancelShare, followUntil, random, ct);
                }
            }
            else if (roll < 0.30)
            {
                for (var i = 0; i < 3; i++)
                {
                    if (await SubmitAsync(user, random, burst: true, ct) is not { } id)
                        continue;
                    mine.Add(id);
                    if (random.NextDouble() < 0.3)
                        await CancelAsync(user, id, ct);
                }
            }
            else if (roll < 0.55)
            {
                await BrowseHistoryAsync(user, random, ct);
            }
            else if (roll < 0.65)
            {
                await TimedAsync("GET /api/v1/jobs", user, HttpMethod.Get, "api/v1/jobs?limit=20", null, ct);
            }
            else if (roll < 0.75)
            {
                await TimedAsync("GET /api/v1/jobs/queue", user, HttpMethod.Get, "api/v1/jobs/queue", null, ct);
            }
            else if (roll < 0.82)
            {
                await TimedAsync("GET /api/v1/system", user, HttpMethod.Get, "api/v1/system", null, ct);
            }
            else if (roll < 0.88)
            {
                await TimedAsync("GET /sdapi/v1/progress", user, HttpMethod.Get, "sdapi/v1/progress", null, ct);
            }
            else if (mine.Count > 0)
            {
                await TimedAsync("GET /api/v1/jobs/{id}", user, HttpMethod.Get, $"api/v1/jobs/{mine[random.Next(mine.Count)]}", null, ct);
            }
            var think = options.ThinkMin + (options.ThinkMax - options.ThinkMin) * random.NextDouble();
            var left = end - _clock.Elapsed;
            if (left > TimeSpan.Zero)
                await Task.Delay(think < left ? think : left, ct);
        }
    }

    private async Task<string?> SubmitAsync(string user, Random random, bool burst, CancellationToken ct)
    {
        var side = Sides[random.Next(Sides.Length)];
        var body = new
        {
            prompt = $"{Subjects[random.Next(Subjects.Length)]}, {Styles[random.Next(Styles.Length)]}",
            width = side,
            height = Sides[random.Next(Sides.Length)],
            steps = random.Next(2, 7),
            count = random.Next(1, 3),
            seed = random.Next(0, 3) == 0 ? (long?)random.Next() : null,
        };
        using var response = await TimedAsync("POST /api/v1/jobs", user, HttpMethod.Post, "api/v1/jobs", JsonContent.Create(body), ct,
            expected: [HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests, HttpStatusCode.ServiceUnavailable]);
        if (response is null)
            return null;
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Interlocked.Increment(ref _refused);
            return null;
        }
        var job = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        var id = job.GetProperty("id").GetString()!;
        _jobs[id] = new TrackedJob(id, user, body.count);
        if (burst)
            Interlocked.Increment(ref _burstJobs);
        return id;
    }

    private async Task CancelAsync(string user, string id, CancellationToken ct)
    {
        Interlocked.Increment(ref _cancelRequests);
        if (_jobs.TryGetValue(id, out var job))
            job.CancelRequested = true;
        // 200 cancelled while queued, 202 stopping while running, 409 when it had already finished: all correct answers.
        using var _ = await TimedAsync("DELETE /api/v1/jobs/{id}", user, HttpMethod.Delete, $"api/v1/jobs/{id}", null, ct,
            expected: [HttpStatusCode.OK, HttpStatusCode.Accepted, HttpStatusCode.NoContent, HttpStatusCode.Conflict]);
    }

    /// <summary>Reads the job's event stream to its final event, cancelling it after the first event when asked to.</summary>
    private async Task FollowAsync(string user, string id, bool cancel, TimeSpan until, Random random, CancellationToken ct)
    {
        Interlocked.Increment(ref _sseStreams);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var left = until - _clock.Elapsed;
        timeout.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{id}/events");
        request.Headers.Add("X-ZImage-User", user);
        var opened = Stopwatch.StartNew();
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Record("GET /api/v1/jobs/{id}/events (headers)", opened.Elapsed.TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                Unexpected($"events for {id}: HTTP {(int)response.StatusCode}", (int)response.StatusCode);
                return;
            }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
            var events = 0;
            string? name = null;
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                    continue;
                }
                if (line.Length != 0 || name is null)
                    continue;
                events++;
                if (name is "completed" or "failed" or "cancelled")
                {
                    _jobs[id].StreamOutcome = name;
                    return;
                }
                if (cancel && events == 1 + random.Next(3))
                {
                    cancel = false;
                    await CancelAsync(user, id, ct);
                }
                name = null;
            }
            Unexpected($"events for {id} ended without a final event", 0);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Past the drain deadline with the job still waiting: the audit counts it as pending.
        }
        catch (HttpRequestException e)
        {
            Interlocked.Increment(ref _transportErrors);
            _problems.Enqueue($"events for {id}: {e.Message}");
        }
    }

    private async Task BrowseHistoryAsync(string user, Random random, CancellationToken ct)
    {
        var query = random.Next(4) == 0 ? "user=everyone&text=fox&pageSize=24" : $"user=mine&page={random.Next(3)}&pageSize=24";
        using var response = await TimedAsync("GET /api/v1/history", user, HttpMethod.Get, $"api/v1/history?{query}", null, ct);
        if (response is not { IsSuccessStatusCode: true })
            return;
        var page = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        var items = page.GetProperty("items");
        if (items.GetArrayLength() == 0)
            return;
        var item = items[random.Next(items.GetArrayLength())];
        using var _ = await TimedAsync("GET /api/v1/images/{id}/thumb", user, HttpMethod.Get, item.GetProperty("thumbUrl").GetString()!.TrimStart('/'), null, ct);
        if (random.Next(4) == 0)
        {
            using var __ = await TimedAsync("GET /api/v1/images/{id}", user, HttpMethod.Get, item.GetProperty("url").GetString()!.TrimStart('/'), null, ct);
        }
    }

    private async Task DrainAsync(TimeSpan until, CancellationToken ct)
    {
        while (_clock.Elapsed < until)
        {
            var open = 0;
            foreach (var job in _jobs.Values.Where(j => j.FinalStatus is null))
            {
                using var response = await client.SendAsync(WithUser(HttpMethod.Get, $"api/v1/jobs/{job.Id}", job.User), ct);
                if (!response.IsSuccessStatusCode)
                    continue;
                var status = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("status").GetString();
                if (status is "queued" or "running")
                    open++;
                else
                    job.FinalStatus = status;
            }
            if (open == 0)
                return;
            await Task.Delay(500, ct);
        }
    }

    /// <summary>Reads every accepted job back; a job is lost if the server forgot it, or it succeeded without its pictures, or its stream said otherwise.</summary>
    private async Task<Audit> AuditAsync(CancellationToken ct)
    {
        var audit = new Audit();
        foreach (var job in _jobs.Values.OrderBy(j => j.Id, StringComparer.Ordinal))
        {
            using var response = await client.SendAsync(WithUser(HttpMethod.Get, $"api/v1/jobs/{job.Id}", job.User), ct);
            if (!response.IsSuccessStatusCode)
            {
                audit.Lost.Add($"{job.Id}: HTTP {(int)response.StatusCode} when read back");
                continue;
            }
            var state = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            var status = state.GetProperty("status").GetString()!;
            audit.ByStatus[status] = audit.ByStatus.GetValueOrDefault(status) + 1;
            var expected = status switch { "succeeded" => "completed", "cancelled" => "cancelled", "failed" or "interrupted" => "failed", _ => null };
            if (job.StreamOutcome is not null && job.StreamOutcome != expected)
                audit.Lost.Add($"{job.Id}: the event stream said {job.StreamOutcome} but the job is {status}");
            if (status == "failed")
                audit.Failures.Add($"{job.Id}: {state.GetProperty("error")}");
            if (status != "succeeded")
                continue;
            var images = state.GetProperty("images");
            if (images.GetArrayLength() != job.Count)
                audit.Lost.Add($"{job.Id}: succeeded with {images.GetArrayLength()} of {job.Count} pictures");
            foreach (var image in images.EnumerateArray())
            {
                audit.Images++;
                using var thumb = await client.SendAsync(WithUser(HttpMethod.Get, image.GetProperty("thumbUrl").GetString()!.TrimStart('/'), job.User), ct);
                using var full = await client.SendAsync(WithUser(HttpMethod.Get, image.GetProperty("url").GetString()!.TrimStart('/'), job.User), ct);
                if (!thumb.IsSuccessStatusCode || !full.IsSuccessStatusCode)
                    audit.Lost.Add($"{job.Id}: picture {image.GetProperty("id")} answers {(int)full.StatusCode} (thumbnail {(int)thumb.StatusCode})");
            }
        }
        return audit;
    }

    private async Task<JsonElement?> ReadServerCountsAsync(CancellationToken ct)
    {
        using var response = await client.SendAsync(WithUser(HttpMethod.Get, "api/v1/system", "load-audit"), ct);
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("jobs") : null;
    }

    private async Task<HttpResponseMessage?> TimedAsync(string endpoint, string user, HttpMethod method, string path, HttpContent? content,
        CancellationToken ct, HttpStatusCode[]? expected = null)
    {
        using var request = WithUser(method, path, user);
        request.Content = content;
        var watch = Stopwatch.StartNew();
        try
        {
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            Record(endpoint, watch.Elapsed.TotalMilliseconds);
            var ok = expected is null ? response.IsSuccessStatusCode : expected.Contains(response.StatusCode);
            if (!ok)
                Unexpected($"{method} {path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}", (int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException e)
        {
            Interlocked.Increment(ref _transportErrors);
            _problems.Enqueue($"{method} {path}: {e.Message}");
            return null;
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _transportErrors);
            _problems.Enqueue($"{method} {path}: timed out ({e.Message})");
            return null;
        }
    }

    private void Unexpected(string what, int status)
    {
        if (status >= 500)
            Interlocked.Increment(ref _serverErrors);
        else
            Interlocked.Increment(ref _unexpected);
        if (_problems.Count < 50)
            _problems.Enqueue(what.Length > 400 ? what[..400] : what);
    }

    private static HttpRequestMessage WithUser(HttpMethod method, string path, string user)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-ZImage-User", user);
        return request;
    }

    private void Record(string endpoint, double ms) => _latency.GetOrAdd(endpoint, _ => new ConcurrentQueue<double>()).Enqueue(ms);

    private async Task SampleMemoryAsync(CancellationToken ct)
    {
        if (residentBytes is null)
            return;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                SampleMemory();
                await Task.Delay(options.MemorySampleInterval, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void SampleMemory()
    {
        if (residentBytes?.Invoke() is not { } rss)
            return;
        lock (_memory)
            _memory.Add(new MemorySample(Math.Round(_clock.Elapsed.TotalSeconds, 1), rss));
    }

    private async Task ReportProgressAsync(TimeSpan end, CancellationToken ct)
    {
        if (log is null)
            return;
        try
        {
            while (!ct.IsCancellationRequested && _clock.Elapsed < end)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ct);
                var done = _jobs.Values.Count(j => j.StreamOutcome is not null);
                Say($"{_clock.Elapsed.TotalSeconds:F0} s: {_jobs.Count} jobs accepted, {done} followed to the end, {_refused} refused, " +
                    $"{Interlocked.Read(ref _serverErrors)} server errors, RSS {Mebibytes.Show(residentBytes?.Invoke())}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private LoadReport BuildReport(long? idle, long? afterWarmup, Audit audit, JsonElement? server, TimeSpan drained)
    {
        var all = _latency.Where(kv => !kv.Key.Contains("/events", StringComparison.Ordinal)).SelectMany(kv => kv.Value).ToArray();
        var endpoints = _latency.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => LatencySummary.Of(kv.Key, kv.Value.ToArray())).ToList();
        List<MemorySample> memory;
        lock (_memory)
            memory = [.. _memory];
        int Count(string s) => audit.ByStatus.GetValueOrDefault(s);
        return new LoadReport
        {
            Users = options.Users,
            DurationSeconds = options.Duration.TotalSeconds,
            DrainSeconds = Math.Round(drained.TotalSeconds, 1),
            Submitted = _jobs.Count,
            BurstSubmitted = (int)Interlocked.Read(ref _burstJobs),
            Refused = (int)Interlocked.Read(ref _refused),
            Succeeded = Count("succeeded"),
            Cancelled = Count("cancelled"),
            Failed = Count("failed") + Count("interrupted"),
            PendingAtEnd = Count("queued") + Count("running"),
            Lost = audit.Lost.Count,
            LostDetails = [.. audit.Lost.Take(20)],
            FailureDetails = [.. audit.Failures.Take(20)],
            ImagesChecked = audit.Images,
            CancelRequests = (int)Interlocked.Read(ref _cancelRequests),
            EventStreams = (int)Interlocked.Read(ref _sseStreams),
            ServerErrors = (int)Interlocked.Read(ref _serverErrors),
            TransportErrors = (int)Interlocked.Read(ref _transportErrors),
            UnexpectedResponses = (int)Interlocked.Read(ref _unexpected),
            Problems = [.. _problems.Take(20)],
            Api = LatencySummary.Of("all non-generation calls", all),
            Endpoints = endpoints,
            P99GoalMs = options.P99GoalMs,
            ServerJobCounts = server?.ToString(),
            RssIdleBytes = idle,
            RssAfterWarmupBytes = afterWarmup,
            RssEndBytes = memory.Count > 0 ? memory[^1].Bytes : null,
            RssMaxBytes = memory.Count > 0 ? memory.Max(m => m.Bytes) : null,
            RssSlopeMibPerMinute = MemoryTrend.SlopeMibPerMinute(memory),
            Memory = memory,
        };
    }

    private void Say(string line) => log?.WriteLine($"[load] {line}");


    private sealed class TrackedJob(string id, string user, int count)
    {
        public string Id { get; } = id;
        public string User { get; } = user;
        public int Count { get; } = count;
        public volatile string? StreamOutcome;
        public volatile string? FinalStatus;
        public volatile bool CancelRequested;
    }

    private sealed class Audit
    {
        public Dictionary<string, int> ByStatus { get; } = [];
        public List<string> Lost { get; } = [];
        public List<string> Failures { get; } = [];
        public int Images { get; set; }
    }
}

internal sealed record MemorySample(double Seconds, long Bytes);

internal static class MemoryTrend
{
    /// <summary>
    /// Least-squares slope of RSS over the later two thirds of the run: the first third holds the warm-up growth
    /// (JIT, pools, SQLite cache) that every .NET server shows and that is not a leak.
    /// </summary>
    public static double? SlopeMibPerMinute(IReadOnlyList<MemorySample> samples)
    {
        if (samples.Count < 6)
            return null;
        var later = samples.Skip(samples.Count / 3).ToList();
        double mx = later.Average(s => s.Seconds), my = later.Average(s => s.Bytes / Mebibytes.Bytes);
        double num = later.Sum(s => (s.Seconds - mx) * (s.Bytes / Mebibytes.Bytes - my));
        double den = later.Sum(s => (s.Seconds - mx) * (s.Seconds - mx));
        return den == 0 ? null : Math.Round(num / den * 60, 2);
    }
}

internal sealed record LatencySummary(string Name, int Count, double P50Ms, double P90Ms, double P99Ms, double MaxMs)
{
    public static LatencySummary Of(string name, double[] values)
    {
        if (values.Length == 0)
            return new(name, 0, 0, 0, 0, 0);
        Array.Sort(values);
        double At(double q) => Math.Round(values[Math.Min(values.Length - 1, (int)Math.Ceiling(q * values.Length) - 1)], 1);
        return new(name, values.Length, At(0.50), At(0.90), At(0.99), Math.Round(values[^1], 1));
    }
}

internal sealed record LoadReport
{
    public int Users { get; init; }
    public double DurationSeconds { get; init; }
    public double DrainSeconds { get; init; }
    public int Submitted { get; init; }
    public int BurstSubmitted { get; init; }
    public int Refused { get; init; }
    public int Succeeded { get; init; }
    public int Cancelled { get; init; }
    public int Failed { get; init; }
    public int PendingAtEnd { get; init; }
    public int Lost { get; init; }
    public IReadOnlyList<string> LostDetails { get; init; } = [];
    public IReadOnlyList<string> FailureDetails { get; init; } = [];
    public int ImagesChecked { get; init; }
    public int CancelRequests { get; init; }
    public int EventStreams { get; init; }
    public int ServerErrors { get; init; }
    public int TransportErrors { get; init; }
    public int UnexpectedResponses { get; init; }
    public IReadOnlyList<string> Problems { get; init; } = [];
    public LatencySummary Api { get; init; } = default!;
    public IReadOnlyList<LatencySummary> Endpoints { get; init; } = [];
    public double P99GoalMs { get; init; }
    public string? ServerJobCounts { get; init; }
    public long? RssIdleBytes { get; init; }
    public long? RssAfterWarmupBytes { get; init; }
    public long? RssEndBytes { get; init; }
    public long? RssMaxBytes { get; init; }
    public double? RssSlopeMibPerMinute { get; init; }
    public IReadOnlyList<MemorySample> Memory { get; init; } = [];

    /// <summary>Every accepted job is accounted for: final, or still waiting, never forgotten.</summary>
    public bool Accounted => Submitted == Succeeded + Cancelled + Failed + PendingAtEnd && Lost == 0;

    public bool P99GoalMet => Api.P99Ms < P99GoalMs;

    public bool Passed => Accounted && Failed == 0 && ServerErrors == 0 && TransportErrors == 0 && UnexpectedResponses == 0;

    public string ToText()
    {
        var s = new StringBuilder();
        s.AppendLine($"users {Users}, {DurationSeconds:F0} s, drain {DrainSeconds:F1} s");
        s.AppendLine($"jobs: submitted {Submitted} (of which {BurstSubmitted} in unwatched bursts), succeeded {Succeeded}, cancelled {Cancelled}, " +
                     $"failed {Failed}, still queued at the end {PendingAtEnd}, lost {Lost}; refused at submission {Refused} (per-user cap)");
        s.AppendLine($"pictures read back: {ImagesChecked}; cancel requests {CancelRequests}; event streams followed {EventStreams}");
        s.AppendLine($"server's own counts since start-up (includes the warm-up job): {ServerJobCounts ?? "n/a"}");
        s.AppendLine($"errors: HTTP 5xx {ServerErrors}, transport {TransportErrors}, unexpected 4xx {UnexpectedResponses}");
        s.AppendLine($"API latency, {Api.Count} non-generation calls: p50 {Api.P50Ms} ms, p90 {Api.P90Ms} ms, p99 {Api.P99Ms} ms, max {Api.MaxMs} ms " +
                     $"(goal p99 < {P99GoalMs} ms: {(P99GoalMet ? "met" : "NOT met")})");
        foreach (var e in Endpoints)
            s.AppendLine($"  {e.Name,-42} n={e.Count,6}  p50 {e.P50Ms,7} ms  p99 {e.P99Ms,7} ms  max {e.MaxMs,7} ms");
        s.AppendLine($"server RSS: idle {Mebibytes.Show(RssIdleBytes)}, after warm-up {Mebibytes.Show(RssAfterWarmupBytes)}, end {Mebibytes.Show(RssEndBytes)}, " +
                     $"max {Mebibytes.Show(RssMaxBytes)}, trend over the later two thirds {(RssSlopeMibPerMinute is { } m ? $"{m:+0.00;-0.00} MiB/min" : "n/a")}");
        if (Memory.Count > 0)
        {
            var step = Math.Max(1, Memory.Count / 10);
            s.AppendLine("  RSS samples: " + string.Join(", ", Memory.Where((_, i) => i % step == 0 || i == Memory.Count - 1)
                .Select(m => $"{m.Seconds:F0}s={m.Bytes / Mebibytes.Bytes:F0}")));
        }
        foreach (var l in LostDetails)
            s.AppendLine($"  lost: {l}");
        foreach (var f in FailureDetails)
            s.AppendLine($"  failed: {f}");
        foreach (var p in Problems)
            s.AppendLine($"  problem: {p}");
        s.Append(Passed ? "RESULT: every job accounted for, no errors" : "RESULT: FAILED");
        return s.ToString();
    }
}
