using ZImage.Engine.Imaging;

namespace ZImage.Engine.Tests.Imaging;

public sealed class AtomicFileTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("zimage-atomic-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void ASuccessfulWriteLeavesOnlyTheTarget()
    {
        var target = Path.Combine(_folder.FullName, "image.png");

        AtomicFile.WriteAllBytes(target, [1, 2, 3]);

        Assert.Equal([1, 2, 3], File.ReadAllBytes(target));
        Assert.Equal(["image.png"], _folder.GetFiles().Select(f => f.Name));
    }

    [Fact]
    public void AWriteThatThrowsMidwayLeavesNoTargetAndNoTempFile()
    {
        var target = Path.Combine(_folder.FullName, "image.png");

        Assert.Throws<IOException>(() => AtomicFile.Write(target, s =>
        {
            s.Write(new byte[100_000]);
            throw new IOException("disk full (simulated)");
        }));

        Assert.Empty(_folder.GetFiles());
    }

    [Fact]
    public void AFailedOverwriteKeepsTheOldFile()
    {
        var target = Path.Combine(_folder.FullName, "image.png");
        File.WriteAllBytes(target, [9, 9]);

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.Write([1, 2, 3]);
            throw new InvalidOperationException("encoder failed (simulated)");
        }));

        Assert.Equal([9, 9], File.ReadAllBytes(target));
        Assert.Single(_folder.GetFiles());
    }

    [Fact]
    public void AnOverwriteReplacesTheContent()
    {
        var target = Path.Combine(_folder.FullName, "image.png");
        File.WriteAllBytes(target, [9, 9, 9, 9]);

        AtomicFile.WriteAllBytes(target, [1]);

        Assert.Equal([1], File.ReadAllBytes(target));
    }

    [Fact]
    public void AMissingFolderIsCreated()
    {
        var target = Path.Combine(_folder.FullName, "2025-01-01", "image.png");

        AtomicFile.WriteAllBytes(target, [7]);

        Assert.Equal([7], File.ReadAllBytes(target));
    }
}
