using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// The proof of equality: the tiny checkpoint in the official layout (the bytes the golden reference read, pinned by
/// their sha256), converted by the C# installer, gives the very files of the committed self-test model that the Python
/// export wrote (graphs and weights byte for byte).
/// </summary>
public sealed class TinyCheckpointConversionTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("zimage-convert-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public void TheCheckpointDerivedFromTheSelfTestModelIsTheOneTheGoldenReferenceRead()
    {
        var derived = Path.Combine(_temp.FullName, "derived");
        TinyCheckpoint.Derive(TinyCheckpoint.SelfTestModelDirectory, derived);
        // How the checkpoint is written out for use outside the tests (the GPU machine's reference run, install-model by
        // hand): this test with the variable naming the folder.
        if (Environment.GetEnvironmentVariable("ZIMAGE_WRITE_TINY_CHECKPOINT") is { Length: > 0 } target)
            TinyCheckpoint.Derive(TinyCheckpoint.SelfTestModelDirectory, target);
        var recorded = File.ReadAllLines(TinyCheckpoint.RecordedSums).Where(l => l.Length > 0)
            .Select(l => l.Split("  ", 2)).ToDictionary(p => p[1], p => p[0]);
        var made = Directory.GetFiles(derived, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(derived, f).Replace('\\', '/'), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
        Assert.Equal(recorded.Keys.Order(), made.Keys.Order());
        foreach (var (file, sha256) in made)
            Assert.True(recorded[file] == sha256, $"{file}: sha256 {sha256}, the recorded checkpoint's is {recorded[file]}");
    }

    [Fact]
    public async Task TheTinyCheckpointConvertsToTheSelfTestModelByteForByte()
    {
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "tiny-checkpoint"));
        var model = Path.Combine(_temp.FullName, "model");
        await new CheckpointConverter().ConvertAsync(checkpoint, model, new ConvertOptions(WeightDtype.Fp32, WeightDtype.Fp32), null, CancellationToken.None);

        foreach (var part in new[] { "text_encoder", "transformer", "vae_decoder" })
            foreach (var file in new[] { "model.onnx.data", "model.onnx" })
            {
                var expected = File.ReadAllBytes(Path.Combine(TinyCheckpoint.SelfTestModelDirectory, part, file));
                var actual = File.ReadAllBytes(Path.Combine(model, part, file));
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{part}/{file}: {actual.Length} bytes, the Python export's has {expected.Length}; first difference at {FirstDifference(expected, actual)}");
            }
        Assert.False(Directory.Exists(model + CheckpointConverter.PartialSuffix));
    }

    [Fact]
    public async Task TheManifestSaysWhatThePythonExportSaidExceptWhereTheFactsDiffer()
    {
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "tiny-checkpoint"));
        var model = Path.Combine(_temp.FullName, "model");
        await new CheckpointConverter().ConvertAsync(checkpoint, model, new ConvertOptions(WeightDtype.Fp32, WeightDtype.Fp32), null, CancellationToken.None);

        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyCheckpoint.SelfTestModelDirectory, "zimage.json")))!.AsObject();
        var actual = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "zimage.json")))!.AsObject();
        Assert.Equal("ZImage.Engine installer", actual["export"]!["tool"]!.GetValue<string>());
        Assert.Equal("checkpoint tiny-checkpoint", actual["export"]!["source"]!.GetValue<string>());
        Assert.Empty(actual["export"]!["checks"]!.AsArray());
        Assert.False(actual["tokenizer"]!["placed_by_build"]!.GetValue<bool>()); // the converter copies tokenizer.json
        foreach (var m in new[] { expected, actual })
        {
            m.Remove("export");
            m["tokenizer"]!.AsObject().Remove("placed_by_build");
        }
        Assert.Equal(expected.ToJsonString(), actual.ToJsonString());

        // and the engine opens it
        var folder = ModelFolder.Open(model);
        Assert.Equal("self-test-tiny", folder.Manifest.ModelName);
    }

    private static string FirstDifference(byte[] a, byte[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
            if (a[i] != b[i]) return $"byte {i}";
        return a.Length == b.Length ? "none" : $"byte {n} (length)";
    }
}
