using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;
using ZImage.Tests.Kit;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// The cache folder is a small tmpfs mounted here (the tests run as root on this machine and in CI), so the disk
/// really fills: once before the first byte (the up-front check) and once in the middle of a file.
/// </summary>
public sealed class HubDiskFullTests : IAsyncLifetime
{
    private const string Shard1 = "transformer/diffusion_pytorch_model-00001-of-00002.safetensors";
    private Tmpfs? _disk;
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    private string Mount => _disk!.Path;

    private async Task MountAsync(string size) => _disk = await Tmpfs.MountAsync(size, "zimage-hub-full-disk-");

    private string CheckpointDir => Path.Combine(Mount, "modelscope", FakeHub.Owner, FakeHub.Name, "master");

    [Fact]
    public async Task ADownloadThatCannotFitIsRefusedBeforeTheFirstByte()
    {
        await MountAsync("256k");
        using var downloader = new CheckpointDownloader(HubDownloadTests.OptionsFor(_hub.Endpoint));
        var plan = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), Mount, CancellationToken.None);

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.DownloadAsync(plan, Mount, null, CancellationToken.None));

        Assert.Equal(HubFailure.DiskFull, e.Failure);
        Assert.Equal(plan.TotalBytes, e.NeededBytes);
        Assert.True(e.FreeBytes <= 256 * 1024, $"free {e.FreeBytes}");
        Assert.StartsWith($"Disk full: the download needs {plan.TotalBytes:N0} bytes more in ", e.Message);
        Assert.Contains($"but only {e.FreeBytes:N0} bytes is free", e.Message);
        Assert.DoesNotContain(_hub.Log, h => h.File is not null);
        Assert.False(Directory.Exists(CheckpointDir) && Directory.EnumerateFiles(CheckpointDir, "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task ADiskThatFillsMidFileFailsClearlyLeavesNoHalfFileAndResumesOnceThereIsRoom()
    {
        await MountAsync("2m");
        var filler = Path.Combine(Mount, "filler.bin");
        // Another program takes the space while the largest shard is on its way: only 50 000 bytes stay free.
        int fills = 0;
        _hub.BeforeServe = file =>
        {
            if (file == Shard1 && Interlocked.Increment(ref fills) == 1)
            {
                using var s = new FileStream(filler, FileMode.CreateNew);
                s.Write(new byte[new DriveInfo(Mount).AvailableFreeSpace - 50_000]);
            }
            return Task.CompletedTask;
        };
        using var downloader = new CheckpointDownloader(HubDownloadTests.OptionsFor(_hub.Endpoint, connections: 1));
        var plan = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), Mount, CancellationToken.None);

        var e = await Assert.ThrowsAsync<HubDownloadException>(() => downloader.DownloadAsync(plan, Mount, null, CancellationToken.None));

        Assert.Equal(HubFailure.DiskFull, e.Failure);
        Assert.StartsWith("Disk full: the download needs ", e.Message);
        Assert.True(e.NeededBytes > e.FreeBytes, $"needed {e.NeededBytes}, free {e.FreeBytes}");
        Assert.False(File.Exists(Path.Combine(CheckpointDir, Shard1)));
        // Whatever is in the checkpoint folder is whole and checked; the half file is only a .part beside it.
        foreach (var file in Directory.Exists(CheckpointDir) ? Directory.EnumerateFiles(CheckpointDir, "*", SearchOption.AllDirectories) : [])
            Assert.Equal(FakeHub.Sha256(_hub.Files[Path.GetRelativePath(CheckpointDir, file)]), FakeHub.Sha256(File.ReadAllBytes(file)));
        var part = Path.Combine(Mount, "modelscope", FakeHub.Owner, FakeHub.Name, ".partial", "master", Shard1 + ".part");
        long kept = new FileInfo(part).Length;

        File.Delete(filler);
        var again = await downloader.PlanAsync(new HubSource(HubKind.ModelScope), Mount, CancellationToken.None);
        await downloader.DownloadAsync(again, Mount, null, CancellationToken.None);

        Assert.Equal(FakeHub.Sha256(_hub.Files[Shard1]), FakeHub.Sha256(File.ReadAllBytes(Path.Combine(CheckpointDir, Shard1))));
        Assert.True(kept > 0, "the bytes that fitted are kept for the resume");
        Assert.Equal($"bytes={kept}-", _hub.FileRequests(Shard1)[^1].Range);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        if (_disk is not null)
            await _disk.DisposeAsync();
    }
}
