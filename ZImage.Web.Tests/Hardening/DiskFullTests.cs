using Xunit.Abstractions;
using ZImage.Tests.Kit;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// The output folder is a 1 MiB tmpfs (mounted here; the tests run as root on this machine and in CI): a
/// 1024x1024 picture of noise is about 3 MB as PNG, so saving it fills the disk part-way through the file.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Tmpfs _disk = null!;

    public async Task InitializeAsync() => _disk = await Tmpfs.MountAsync("1m", "zimage-full-disk-");

    [Fact]
    public async Task AJobWhosePicturesDoNotFitFailsWithDiskFullAndLeavesNothingHalfWritten()
    {
        await using var folder = new RealServerFolder(outputDirectory: _disk.Path);
        var server = await folder.StartAsync();
        using var client = RealServerFolder.ClientFor(server, "dana");

        var big = (await client.SubmitAsync(new { prompt = "too big for the disk", width = 1024, height = 1024, steps = 2, count = 2, seed = 3 })).GetProperty("id").GetString()!;
        var failed = await client.WaitForJobAsync(big, j => j.IsFinal(), "final");
        var error = failed.GetProperty("error").GetString()!;
        output.WriteLine($"job {big}: {failed.Status()}: {error}");
        Assert.Equal("failed", failed.Status());
        Assert.StartsWith("Disk full", error);
        Assert.DoesNotContain("Exception", error);
        Assert.Empty(failed.GetProperty("images").EnumerateArray());

        // Nothing half-written: no picture, thumbnail or temporary file, and no image row.
        Assert.Empty(folder.OutputFiles());
        Assert.Equal(0, folder.Query($"SELECT count(*) FROM images WHERE job_id = '{big}'", r => r.GetInt32(0)).Single());

        // The failure freed what it wrote, so a picture that fits is saved by the same server.
        var small = (await client.SubmitAsync(new { prompt = "fits", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!;
        var done = await client.WaitForJobAsync(small, j => j.IsFinal(), "final");
        Assert.Equal("succeeded", done.Status());
        Assert.Equal(2, folder.OutputFiles().Count);
    }

    public async Task DisposeAsync()
    {
        if (_disk is not null) // null when the mount was refused
            await _disk.DisposeAsync();
    }
}
