using System.Text.Json.Nodes;
using ZImage.Engine.Models;

namespace ZImage.Engine.Tests.Models;

/// <summary>A broken model folder is refused at load with a sentence naming the file or key, never later inside ONNX Runtime.</summary>
public sealed class ModelFolderTests : IDisposable
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "zimage-model-tests-" + Guid.NewGuid().ToString("N"));

    private string CopyOfSelfTest()
    {
        foreach (var file in Directory.EnumerateFiles(SelfTest, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_root, Path.GetRelativePath(SelfTest, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return _root;
    }

    [Fact]
    public void TheSelfTestModelIsHealthy()
    {
        var folder = ModelFolder.Open(SelfTest);
        Assert.True(folder.Manifest.RandomWeights);
        Assert.Equal(16, folder.Manifest.LatentChannels);
        Assert.Equal(3.0, folder.Manifest.SamplerShift);
        Assert.True(File.Exists(folder.TokenizerPath));
    }

    [Fact]
    public void AnEmptyFolderNamesTheMissingManifest()
    {
        Directory.CreateDirectory(_root);
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(_root));
        Assert.Contains(Path.Combine(_root, "zimage.json") + " is missing", e.Message);
    }

    [Fact]
    public void AMissingFolderSaysSo()
    {
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(Path.Combine(_root, "nowhere")));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void ATruncatedOnnxFileIsNamedWithBothSizes()
    {
        var dir = CopyOfSelfTest();
        var data = Path.Combine(dir, "transformer", "model.onnx.data");
        var full = new FileInfo(data).Length;
        using (var stream = File.Open(data, FileMode.Open))
            stream.SetLength(full / 2);

        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(dir));
        var problem = Assert.Single(e.Problems);
        Assert.Contains(data, problem);
        Assert.Contains($"{full / 2:N0} bytes but the export wrote {full:N0}", problem);
    }

    [Fact]
    public void PartsLinkedFromAnotherFolderCountByTheirTargetsAndADanglingLinkIsMissing()
    {
        // A VAE variant beside the same weights links the text encoder and transformer (export --reuse-from).
        var folder = CopyOfSelfTest();
        var shared = Path.Combine(Path.GetTempPath(), "zimage-model-shared-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(shared);
            foreach (var name in new[] { "model.onnx", "model.onnx.data" })
            {
                var linked = Path.Combine(folder, "transformer", name);
                File.Move(linked, Path.Combine(shared, name));
                File.CreateSymbolicLink(linked, Path.Combine(shared, name));
            }
            Assert.True(ModelFolder.Inspect(folder).IsUsable, string.Join("; ", ModelFolder.Inspect(folder).Problems));

            File.Delete(Path.Combine(shared, "model.onnx.data"));
            var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(folder));
            Assert.Contains(Path.Combine(folder, "transformer", "model.onnx.data") + " is missing", e.Message);
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    [Fact]
    public void AMissingPartIsNamed()
    {
        var dir = CopyOfSelfTest();
        File.Delete(Path.Combine(dir, "vae_decoder", "model.onnx"));
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(dir));
        Assert.Contains(Path.Combine(dir, "vae_decoder", "model.onnx") + " is missing", Assert.Single(e.Problems));
    }

    [Fact]
    public void AManifestFromAnotherArchitectureIsRefusedWithTheMismatch()
    {
        var dir = CopyOfSelfTest();
        var path = Path.Combine(dir, "zimage.json");
        var manifest = JsonNode.Parse(File.ReadAllText(path))!;
        manifest["transformer"]!["caption_dim"] = 4096;        // a transformer made for another text encoder
        manifest["vae_decoder"]!["latent_channels"] = 4;       // an SD-style 4-channel VAE
        File.WriteAllText(path, manifest.ToJsonString());

        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(dir));
        Assert.Contains(e.Problems, p => p.Contains("transformer.caption_dim is 4096 but text_encoder.hidden_size is"));
        Assert.Contains(e.Problems, p => p.Contains("vae_decoder.latent_channels is 4 but transformer.in_channels is 16"));
    }

    [Fact]
    public void AManifestOfAnotherFormatIsRefused()
    {
        var dir = CopyOfSelfTest();
        File.WriteAllText(Path.Combine(dir, "zimage.json"), """{"format": "diffusers", "format_version": 1}""");
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(dir));
        Assert.Contains(e.Problems, p => p.Contains("format is \"diffusers\""));
        Assert.Contains(e.Problems, p => p.Contains("transformer.in_channels is missing"));
    }

    [Fact]
    public void BrokenJsonIsReportedAsSuch()
    {
        var dir = CopyOfSelfTest();
        File.WriteAllText(Path.Combine(dir, "zimage.json"), "{ not json");
        var e = Assert.Throws<ModelFolderException>(() => ModelFolder.Open(dir));
        Assert.Contains("zimage.json", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}
