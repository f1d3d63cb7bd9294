using ZImage.Tools;

namespace ZImage.Web.Tests.Tools;

/// <summary>README's <c>--model models/self-test-tiny</c> has to work from a fresh clone, whose copy lacks tokenizer.json.</summary>
public sealed class ModelArgumentTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-model-arg-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void TheSelfTestFolderOfAFreshCloneIsReplacedByTheBuildsCompletedCopy()
    {
        var cloneCopy = Directory.CreateDirectory(Path.Combine(_root, "models", "self-test-tiny", "tokenizer")).Parent!.FullName;

        var used = EngineCli.ModelDirectory(cloneCopy);

        Assert.NotEqual(cloneCopy, used);
        Assert.True(File.Exists(Path.Combine(used, "tokenizer", "tokenizer.json")), used);
        Assert.StartsWith(AppContext.BaseDirectory, used);
    }

    [Fact]
    public void AnyOtherFolderIsTakenAsGivenSoItsCheckNamesWhatIsMissing()
    {
        var other = Directory.CreateDirectory(Path.Combine(_root, "my-model")).FullName;
        Assert.Equal(other, EngineCli.ModelDirectory(other));

        var complete = Directory.CreateDirectory(Path.Combine(_root, "done", "self-test-tiny", "tokenizer")).Parent!.FullName;
        File.WriteAllText(Path.Combine(complete, "tokenizer", "tokenizer.json"), "{}");
        Assert.Equal(complete, EngineCli.ModelDirectory(complete));
    }
}
