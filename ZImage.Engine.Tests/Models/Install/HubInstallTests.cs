using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>The install service with the real checkpoint downloader against a local hub (the converter still a stand-in).</summary>
public sealed class HubInstallTests : IAsyncLifetime
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-hub-install-").FullName;
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    private ModelInstallService Service(CheckpointDownloader downloader, ICheckpointConverter converter, RecordingActivator activator) =>
        new(downloader, converter, new FixedCheck(), activator, new DriveDiskSpace(),
            new InstallOptions { CacheDirectory = Path.Combine(_root, "cache") }, TimeProvider.System);

    [Fact]
    public async Task FromTheHubThroughConversionToTheActiveModelWithOneProgressStream()
    {
        using var downloader = new CheckpointDownloader(HubDownloadTests.OptionsFor(_hub.Endpoint));
        var converter = new CopyingConverter(SelfTest);
        var activator = new RecordingActivator();
        var service = Service(downloader, converter, activator);
        var target = Path.Combine(_root, "models", "z-image-turbo");
        var request = new InstallRequest(new InstallSource.Hub(new HubSource(HubKind.ModelScope, Endpoint: _hub.Endpoint.AbsoluteUri)), target, new ConvertOptions());
        var seen = new List<InstallStatus>();
        service.Changed += s => { lock (seen) seen.Add(s); };

        var plan = await service.PlanAsync(request, CancellationToken.None);
        Assert.Equal(FakeHub.NeededBytes(_hub.Files), plan.DownloadBytes);
        Assert.Equal(0, plan.CachedBytes);
        Assert.True(plan.DiskNeededBytes > plan.DownloadBytes);
        var final = await service.InstallAsync(request, null, CancellationToken.None);

        Assert.True(final.State == InstallState.Succeeded, final.Message);
        Assert.Equal([target], activator.Activated);
        var checkpoint = converter.Calls.Single().Checkpoint;
        // The files the plan listed (the checkpoint, not the hub's README or pictures) arrived byte for byte.
        Assert.All(plan.Download!.Files, f => Assert.Equal(_hub.Files[f.Path], File.ReadAllBytes(Path.Combine(checkpoint, f.Path))));
        Assert.True(ModelEntry.Read(target, target).IsUsable);
        List<InstallStatus> download;
        lock (seen)
            download = seen.Where(s => s.Stage == InstallStage.Download).ToList();
        Assert.NotEmpty(download);
        Assert.Equal(plan.DownloadBytes, download[^1].Done);

        // A second install into another folder finds everything in the cache: nothing left to fetch.
        var again = await service.PlanAsync(request with { ModelDirectory = Path.Combine(_root, "models", "second") }, CancellationToken.None);
        Assert.Equal(0, again.ToDownloadBytes);
    }

    [Fact]
    public async Task AnUnreachableHubFailsTheInstallNamingTheHostAndLeavesNoModelFolder()
    {
        using var downloader = new CheckpointDownloader(HubDownloadTests.OptionsFor(new Uri("http://hub.invalid/")));
        var activator = new RecordingActivator();
        var service = Service(downloader, new CopyingConverter(SelfTest), activator);
        var target = Path.Combine(_root, "models", "z-image-turbo");

        var final = await service.InstallAsync(new InstallRequest(new InstallSource.Hub(new HubSource(HubKind.HuggingFace)), target, new ConvertOptions()), null, CancellationToken.None);

        Assert.Equal((InstallState.Failed, "hub.Unreachable"), (final.State, final.ReasonKey));
        Assert.Contains("hub.invalid", final.Message);
        Assert.False(Directory.Exists(target));
        Assert.Empty(activator.Activated);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
