using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// The checkpoint downloader against a local hub (<see cref="FakeHub"/>) in both hubs' URL and JSON shapes: what it
/// fetches, how it resumes, retries and checks, and what it leaves in the cache when it stops.
/// </summary>
public sealed class HubDownloadTests : IAsyncLifetime
{
    private const string Shard1 = "transformer/diffusion_pytorch_model-00001-of-00002.safetensors";
    private readonly string _cache = Directory.CreateTempSubdirectory("zimage-hub-cache-").FullName;
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_cache, recursive: true);
    }

    internal static HubOptions OptionsFor(Uri endpoint, int connections = 4) => new()
    {
        HuggingFaceEndpoint = endpoint.AbsoluteUri,
        ModelScopeEndpoint = endpoint.AbsoluteUri,
        HuggingFaceToken = null,
        MaxConnections = connections,
        RetryBaseDelaySeconds = 0.01,
        MaxRetryDelaySeconds = 3,
        ProgressIntervalMilliseconds = 0,
    };

    private CheckpointDownloader Downloader(int connections = 4, string? token = null)
    {
        var options = OptionsFor(_hub.Endpoint, connections);
        options.HuggingFaceToken = token;
        return new CheckpointDownloader(options);
    }

    private void AssertCheckpointIsComplete(string folder)
    {
        var needed = _hub.Files.Where(f => CheckpointFiles.IsNeeded(f.Key)).ToList();
        foreach (var (path, bytes) in needed)
            Assert.Equal(FakeHub.Sha256(bytes), FakeHub.Sha256(File.ReadAllBytes(Path.Combine(folder, path))));
        var present = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).Order();
        Assert.Equal(needed.Select(f => f.Key).Order(), present);
    }

    [Theory]
    [InlineData(HubKind.HuggingFace)]
    [InlineData(HubKind.ModelScope)]
    public async Task AFullDownloadFetchesTheCheckpointFilesAndNothingElse(HubKind kind)
    {
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(kind), _cache, CancellationToken.None);

        Assert.Equal(FakeHub.NeededBytes(_hub.Files), plan.TotalBytes);
        Assert.Equal(0, plan.CachedBytes);
        Assert.DoesNotContain(plan.Files, f => f.Path is "README.md" or ".gitattributes" || f.Path.StartsWith("assets/"));
        Assert.All(plan.Files.Where(f => kind == HubKind.ModelScope || FakeHub.IsLfs(f.Path)), f => Assert.Equal(FakeHub.Sha256(_hub.Files[f.Path]), f.Sha256));

        var reports = new List<InstallProgress>();
        var folder = await downloader.DownloadAsync(plan, _cache, new SyncProgress(reports), CancellationToken.None);

        Assert.Equal(Path.Combine(_cache, kind == HubKind.HuggingFace ? "huggingface" : "modelscope", FakeHub.Owner, FakeHub.Name, kind == HubKind.HuggingFace ? "main" : "master"), folder);
        AssertCheckpointIsComplete(folder);
        Assert.DoesNotContain(_hub.Log, h => h.File is "README.md" or ".gitattributes" || h.File?.StartsWith("assets/") == true);
        Assert.All(reports, r => Assert.Equal(InstallStage.Download, r.Stage));
        Assert.Equal(plan.TotalBytes, reports[^1].Done);
        Assert.Equal(plan.TotalBytes, reports[^1].Total);
        Assert.Contains(reports, r => r.Item == Shard1);
    }

    [Fact]
    public async Task HuggingFaceListingsArePagedAndLfsFilesComeFromTheStorageHostTheyRedirectTo()
    {
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        Assert.True(_hub.Log.Count(h => h.Path.EndsWith("/tree/main")) >= 3, "the listing spans several pages");
        var shard = _hub.Log.Where(h => h.File == Shard1).ToList();
        Assert.Equal([(_hub.Endpoint.Port, 302), (_hub.Storage.Port, 200)], shard.Select(h => (h.Port, h.Status)));
        Assert.Equal(_hub.Endpoint.Port, Assert.Single(_hub.Log, h => h.File == "model_index.json").Port);
    }

    [Fact]
    public async Task TheTokenGoesToTheHubButNotToTheStorageHostItRedirectsTo()
    {
        using var downloader = Downloader(token: "hf_secret");
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        Assert.All(_hub.Log.Where(h => h.Port == _hub.Endpoint.Port), h => Assert.Equal("Bearer hf_secret", h.Authorization));
        var storage = _hub.Log.Where(h => h.Port == _hub.Storage.Port).ToList();
        Assert.NotEmpty(storage);
        Assert.All(storage, h => Assert.Null(h.Authorization));
    }

    [Theory]
    [InlineData(HubKind.HuggingFace)]
    [InlineData(HubKind.ModelScope)]
    public async Task ADownloadCutMidFileResumesWithARangeRequest(HubKind kind)
    {
        _hub.CutOnce(Shard1, afterBytes: 100_000);
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(kind), _cache, CancellationToken.None);

        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        var requests = _hub.FileRequests(Shard1);
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].Range);
        Assert.InRange(ResumedFrom(requests[1]), 1, 100_000); // what reached the client before the drop (all of it, unless the reset overtook some)
        Assert.Equal(206, requests[1].Status);
    }

    [Fact]
    public async Task AServerThatIgnoresRangeOnResumeGetsTheWholeFileWritten()
    {
        _hub.CutOnce(Shard1, afterBytes: 100_000);
        _hub.IgnoreRangeOnce(Shard1);
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);

        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        var requests = _hub.FileRequests(Shard1);
        Assert.InRange(ResumedFrom(requests[1]), 1, 100_000);
        Assert.Equal(200, requests[1].Status);
    }

    [Fact]
    public async Task ACorruptedFileIsDetectedAndFetchedAgain()
    {
        _hub.Corrupt(Shard1, times: 1);
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), _cache, CancellationToken.None);

        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        var requests = _hub.FileRequests(Shard1);
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Null(r.Range)); // the bad copy was thrown away, not resumed
    }

    [Fact]
    public async Task AFileCorruptedTwiceFailsNamingItAndLeavesNoCopy()
    {
        _hub.Corrupt(Shard1, times: 2);
        using var downloader = Downloader(connections: 1);
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.DownloadAsync(plan, _cache, null, CancellationToken.None));

        Assert.Equal(HubFailure.HashMismatch, e.Failure);
        Assert.Equal(Shard1, e.File);
        Assert.Contains(Shard1, e.Message);
        var cache = Path.Combine(_cache, "huggingface", FakeHub.Owner, FakeHub.Name);
        Assert.Empty(Directory.EnumerateFiles(cache, Path.GetFileName(Shard1) + "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A503WithRetryAfterIsRetriedAfterTheAskedDelay()
    {
        _hub.FailOnce("vae/diffusion_pytorch_model.safetensors", 503, TimeSpan.FromSeconds(1));
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);

        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        var hits = _hub.Log.Where(h => h.File == "vae/diffusion_pytorch_model.safetensors" && h.Port == _hub.Storage.Port).ToList();
        Assert.Equal([503, 200], hits.Select(h => h.Status));
        Assert.True(hits[1].At - hits[0].At >= TimeSpan.FromSeconds(0.9), $"retried after {(hits[1].At - hits[0].At).TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task CancelLeavesNoFinalFileKeepsThePartialAndTheNextRunResumesIt()
    {
        var stalled = _hub.StallOnce(Shard1, afterBytes: 64_000);
        using var downloader = Downloader(connections: 1);
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        long shardBytesSeen = 0;
        var progress = new SyncProgress(p =>
        {
            if (p.Item == Shard1 && p.Done >= 64_000)
                Interlocked.Exchange(ref shardBytesSeen, p.Done);
        });

        var run = downloader.DownloadAsync(plan, _cache, progress, cts.Token);
        await stalled.WaitAsync(TimeSpan.FromSeconds(10));
        // Shard1 is the largest file, so with one connection it is the first: its 64 000 bytes are all the progress.
        await WaitUntil(() => Interlocked.Read(ref shardBytesSeen) == 64_000);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        var folder = Path.Combine(_cache, "huggingface", FakeHub.Owner, FakeHub.Name, "main");
        Assert.False(Directory.Exists(folder)); // the largest file goes first, so nothing was complete yet
        var part = Path.Combine(_cache, "huggingface", FakeHub.Owner, FakeHub.Name, ".partial", "main", Shard1 + ".part");
        Assert.Equal(64_000, new FileInfo(part).Length);

        var again = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        Assert.Equal(64_000, again.CachedBytes);
        await downloader.DownloadAsync(again, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        Assert.Equal("bytes=64000-", _hub.FileRequests(Shard1)[^1].Range);
        Assert.False(File.Exists(part));
    }

    [Fact]
    public async Task AConnectionThatStallsIsDroppedAndTheFileResumedOnANewOne()
    {
        _ = _hub.StallOnce(Shard1, afterBytes: 64_000);
        var options = OptionsFor(_hub.Endpoint);
        options.StallTimeoutSeconds = 1;
        using var downloader = new CheckpointDownloader(options);
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);

        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        Assert.Equal("bytes=64000-", _hub.FileRequests(Shard1)[^1].Range);
    }

    [Fact]
    public async Task ASecondDownloadIntoTheSameCacheWhileTheFirstRunsIsRefused()
    {
        var stalled = _hub.StallOnce(Shard1, afterBytes: 64_000);
        using var downloader = Downloader(connections: 1);
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var first = downloader.DownloadAsync(plan, _cache, null, cts.Token);
        await stalled.WaitAsync(TimeSpan.FromSeconds(10));

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.DownloadAsync(plan, _cache, null, CancellationToken.None));

        Assert.Equal(HubFailure.InUse, e.Failure);
        Assert.Equal(Shard1, e.File);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    [Fact]
    public async Task ASecondInstallReusesTheCacheWithoutFetchingAByte()
    {
        using var downloader = Downloader();
        var first = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), _cache, CancellationToken.None);
        await downloader.DownloadAsync(first, _cache, null, CancellationToken.None);
        int before = _hub.Log.Count;

        var second = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), _cache, CancellationToken.None);
        var reports = new List<InstallProgress>();
        var folder = await downloader.DownloadAsync(second, _cache, new SyncProgress(reports), CancellationToken.None);

        Assert.Equal(second.TotalBytes, second.CachedBytes);
        Assert.Equal(second.TotalBytes, reports[^1].Done);
        AssertCheckpointIsComplete(folder);
        Assert.All(_hub.Log.Skip(before), h => Assert.Null(h.File)); // only the listing was asked for again
    }

    [Fact]
    public async Task AChangedFileInTheCacheIsFetchedAgain()
    {
        using var downloader = Downloader();
        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);
        var shard = Path.Combine(folder, Shard1);
        var bytes = File.ReadAllBytes(shard);
        bytes[10] ^= 1;
        File.WriteAllBytes(shard, bytes); // same size, newer write time: the marker no longer vouches for it

        var again = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        Assert.Equal(again.TotalBytes - bytes.Length, again.CachedBytes);
        await downloader.DownloadAsync(again, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        Assert.Equal(2, _hub.FileRequests(Shard1).Count(h => h.Port == _hub.Storage.Port));
    }

    [Fact]
    public async Task NoMoreFilesThanTheConnectionLimitAreFetchedAtOnce()
    {
        // The first file is held until a second one is being fetched beside it, so the two overlap however slowly the
        // machine runs (a downloader that fetched one at a time leaves it waiting: after 10 s it goes on and the count
        // says 1). The delay on every file gives a third request, if the limit were broken, the time to show up.
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hub.BeforeServe = async _ =>
        {
            if (_hub.FileRequestsInFlight >= 2)
                second.TrySetResult();
            await Task.WhenAny(second.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        };
        _hub.FileDelay = TimeSpan.FromMilliseconds(150);
        using var downloader = Downloader(connections: 2);
        var plan = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), _cache, CancellationToken.None);

        await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        Assert.Equal(2, _hub.MaxConcurrentFileRequests);
    }

    [Fact]
    public async Task TheConfiguredProxyCarriesEveryRequest()
    {
        // The hub host does not resolve: the download can only work if the proxy (the fake hub, which answers
        // absolute-form requests as a forward proxy sees them) carries every request, the redirected ones included.
        var options = OptionsFor(new Uri("http://hub.invalid/"));
        options.Proxy = _hub.Endpoint.AbsoluteUri;
        using var downloader = new CheckpointDownloader(options);

        var plan = await downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None);
        var folder = await downloader.DownloadAsync(plan, _cache, null, CancellationToken.None);

        AssertCheckpointIsComplete(folder);
        Assert.All(_hub.Log, h => Assert.Equal(_hub.Endpoint.Port, h.Port));
        Assert.Contains(_hub.Log, h => h.Host == "hub.invalid" && h.File == "model_index.json");
        Assert.Contains(_hub.Log, h => h.Host == $"127.0.0.1:{_hub.Storage.Port}" && h.File == Shard1);
    }

    [Fact]
    public async Task AClosedPortIsReportedAsUnreachableNamingTheHost()
    {
        using var closed = ClosedPort.Take();
        using var downloader = new CheckpointDownloader(OptionsFor(new Uri($"http://127.0.0.1:{closed.Port}/")));

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None));

        Assert.Equal(HubFailure.Unreachable, e.Failure);
        Assert.Equal("127.0.0.1", e.Host);
        Assert.Contains("Could not reach 127.0.0.1: the connection was refused", e.Message);
    }

    [Fact]
    public async Task AnUnreachableProxyIsNamedBesideTheHub()
    {
        using var closed = ClosedPort.Take();
        var options = OptionsFor(new Uri("http://hub.invalid/"));
        options.Proxy = $"http://127.0.0.1:{closed.Port}";
        using var downloader = new CheckpointDownloader(options);

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.PlanAsync(new HubSource(HubKind.HuggingFace), _cache, CancellationToken.None));

        Assert.Equal(HubFailure.Unreachable, e.Failure);
        Assert.Contains($"Could not reach hub.invalid through the proxy 127.0.0.1:{closed.Port}: the connection was refused", e.Message);
    }

    [Fact]
    public async Task AnUnresolvableHostIsReportedAsUnreachableNamingIt()
    {
        using var downloader = new CheckpointDownloader(OptionsFor(new Uri("http://hub.invalid/")));

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.PlanAsync(new HubSource(HubKind.ModelScope, Endpoint: "http://mirror.invalid/"), _cache, CancellationToken.None));

        Assert.Equal(HubFailure.Unreachable, e.Failure);
        Assert.Equal("mirror.invalid", e.Host);
        Assert.Contains("Could not reach mirror.invalid", e.Message);
    }

    [Fact]
    public async Task AListingWithAPathOutsideTheCheckpointIsRefused()
    {
        await using var evil = await FakeHub.StartAsync(new Dictionary<string, byte[]>
        {
            ["model_index.json"] = [1],
            ["vae/../../../../etc/evil.safetensors"] = [2],
        });
        using var downloader = new CheckpointDownloader(OptionsFor(evil.Endpoint));

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.PlanAsync(new HubSource(HubKind.ModelScope), _cache, CancellationToken.None));

        Assert.Equal(HubFailure.BadListing, e.Failure);
        Assert.Contains("vae/../../../../etc/evil.safetensors", e.Message);
    }

    [Fact]
    public async Task AMissingRepositoryIsNotFound()
    {
        using var downloader = Downloader();

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.PlanAsync(new HubSource(HubKind.HuggingFace, "someone/else"), _cache, CancellationToken.None));

        Assert.Equal(HubFailure.NotFound, e.Failure);
        Assert.Equal(404, e.Status);
    }

    [Theory]
    [InlineData("ZImage:Install:Hub:HuggingFaceEndpoint", "not a url", "ZImage:Install:Hub:HuggingFaceEndpoint must be an absolute http:// or https:// URL")]
    [InlineData("ZImage:Install:Hub:ModelScopeEndpoint", "ftp://mirror.example", "ZImage:Install:Hub:ModelScopeEndpoint must be an absolute http:// or https:// URL")]
    [InlineData("ZImage:Install:Hub:MaxConnections", "0", "MaxConnections")]
    [InlineData("ZImage:Install:Hub:Proxy", "socks5://127.0.0.1:1080", "ZImage:Install:Hub:Proxy must be empty (use the environment) or an http:// URL")]
    [InlineData("ZImage:Install:Hub:CacheDirectory", "", "CacheDirectory")]
    public void BadSettingsStopStartUpNamingTheKey(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddZImageHubDownloads(configuration);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HubOptions>>().Value);

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TheDownloaderIsRegisteredWithValidDefaults()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddZImageHubDownloads(configuration);
        using var provider = services.BuildServiceProvider();

        Assert.IsType<CheckpointDownloader>(provider.GetRequiredService<ICheckpointDownloader>());
        var options = provider.GetRequiredService<IOptions<HubOptions>>().Value;
        Assert.Equal(4, options.MaxConnections);
        Assert.Equal(HubOptions.OfficialModelScope, options.ModelScopeEndpoint);
    }

    private static long ResumedFrom(FakeHub.Hit hit)
    {
        Assert.NotNull(hit.Range);
        Assert.Matches("^bytes=[0-9]+-$", hit.Range);
        return long.Parse(hit.Range["bytes=".Length..^1]);
    }

    /// <summary>
    /// A loopback port bound but never listened on, held for the test: connecting is refused, and no other test's server
    /// can be given the port meanwhile (a port found free and let go could be).
    /// </summary>
    private sealed class ClosedPort : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        private ClosedPort() => _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        public int Port => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        public static ClosedPort Take() => new();

        public void Dispose() => _socket.Dispose();
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition was not met within 10 s");
            await Task.Delay(10);
        }
    }
}

/// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and lose the order).</summary>
internal sealed class SyncProgress(Action<InstallProgress> report) : IProgress<InstallProgress>
{
    private readonly Lock _gate = new();

    public SyncProgress(List<InstallProgress> into)
        : this(into.Add)
    {
    }

    public void Report(InstallProgress value)
    {
        lock (_gate)
            report(value);
    }
}
