using System.Diagnostics;

namespace ZImage.Tests.Kit;

/// <summary>
/// A tmpfs of a given size mounted on a fresh temporary folder, so a test can really fill a disk. Mounting needs
/// root: this machine and CI run the tests as root, and a refusal fails the test rather than skipping it.
/// Shared by the engine and web test projects (linked into the latter).
/// </summary>
internal sealed class Tmpfs : IAsyncDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    public static async Task<Tmpfs> MountAsync(string size, string prefix)
    {
        var path = Directory.CreateTempSubdirectory(prefix).FullName;
        var (code, text) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={size},mode=0777", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Assert.Fail($"mounting a {size} tmpfs at {path} was refused ({text.Trim()}); these tests need root (CI runs as root)");
        }
        return new Tmpfs(path);
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
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
