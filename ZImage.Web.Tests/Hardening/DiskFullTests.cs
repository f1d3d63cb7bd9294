using System.Diagnostics;
using Xunit.Abstractions;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// The output folder is a 1 MiB tmpfs (mounted here; the tests run as root on this machine and in CI): a
/// 1024x1024 picture of noise is about 3 MB as PNG, so saving it fills the disk part-way through the file.
/// </summary>
public sealed class DiskFullTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("zimage-full-disk-").FullName;
    private bool _mounted;

    public async Task InitializeAsync()
    {
        var (code, text) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", _mount);
        Assert.True(code == 0, $"mounting a 1 MiB tmpfs at {_mount} was refused ({text.Trim()}); these tests need root (CI runs as root)");
        _mounted = true;
    }

    [Fact]
    public async Task AJobWhosePicturesDoNotFitFailsWithDiskFullAndLeavesNothingHalfWritten()
    {
        await using var folder = new RealServerFolder(outputDirectory: _mount);
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
        if (_mounted)
            await RunAsync("umount", "-l", _mount);
        Directory.Delete(_mount, recursive: true);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var text = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, text);
    }
}
