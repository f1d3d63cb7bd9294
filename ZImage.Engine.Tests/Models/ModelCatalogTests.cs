using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Models;

/// <summary>The catalog resolves the configured folder by one rule, reads it once, and reads again when told.</summary>
public sealed class ModelCatalogTests : IDisposable
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-catalog-").FullName;

    [Fact]
    public async Task ARelativeModelFolderResolvesAgainstTheContentRootNotTheWorkingDirectory()
    {
        CopyFolder(SelfTest, Path.Combine(_root, "models", "tiny"));
        var catalog = new ModelCatalog(new Monitor(new EngineOptions { ModelDirectory = "models/tiny" }), contentRoot: _root);

        var model = catalog.Current;

        Assert.Equal(Path.Combine(_root, "models", "tiny"), model.Directory);
        Assert.True(model.IsUsable, model.Describe());
        Assert.True(model.IsSelfTest);
        Assert.True(model.TransformerBytes > 0 && model.TextEncoderBytes > 0 && model.VaeBytes > 0);
        Assert.NotNull(await model.Tokenizer);
    }

    [Fact]
    public void TheFolderIsReadOnceUntilTheOptionsChangeOrARefreshIsAsked()
    {
        var folder = Path.Combine(_root, "model");
        CopyFolder(SelfTest, folder);
        var options = new Monitor(new EngineOptions { ModelDirectory = folder });
        var catalog = new ModelCatalog(options);
        var footprint = new OptionsModelFootprintSource(new SettableMonitor<VramOptions>(new VramOptions()), catalog);
        var before = footprint.Current;
        var changes = 0;
        catalog.Changed += () => changes++;

        File.Delete(Path.Combine(folder, "transformer", "model.onnx.data"));

        // Still the first reading: no walk of the folder per question (FitsNow asks many times under a lock).
        Assert.Same(catalog.Current, catalog.Current);
        Assert.Equal(before, footprint.Current);
        Assert.True(catalog.Current.IsUsable);

        catalog.Refresh();
        Assert.False(catalog.Current.IsUsable);
        Assert.Contains(catalog.Current.Problems, p => p is { Kind: ModelProblemKind.FileMissing, Subject: "transformer/model.onnx.data" });

        options.Set(new EngineOptions { ModelDirectory = SelfTest });
        Assert.Equal(SelfTest, catalog.Current.Directory);
        Assert.True(catalog.Current.IsUsable);
        Assert.Equal(2, changes);
    }

    [Fact]
    public void TheEnginesFindingsNameFilesRelativeToTheFolderSoNoServerPathLeaks()
    {
        var folder = Path.Combine(_root, "model");
        CopyFolder(SelfTest, folder);
        using (var stream = new FileStream(Path.Combine(folder, "transformer", "model.onnx.data"), FileMode.Open))
            stream.SetLength(stream.Length / 2);

        var model = ModelEntry.Read(folder, folder);

        var problem = Assert.Single(model.Problems);
        Assert.Equal(ModelProblemKind.Engine, problem.Kind);
        Assert.StartsWith("transformer/model.onnx.data has ", problem.Subject);
        Assert.DoesNotContain(_root, problem.Subject);
    }

    internal static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class Monitor(EngineOptions value) : SettableMonitor<EngineOptions>(value);
}
