using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Checkpoint;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>How the converter behaves when things go wrong: cancel, a crash's leftovers, a broken checkpoint.</summary>
public sealed class CheckpointConverterTests : IDisposable
{
    private static readonly ConvertOptions Fp32 = new(WeightDtype.Fp32, WeightDtype.Fp32);
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("zimage-converter-");
    private readonly CheckpointConverter _converter = new();

    public void Dispose() => _temp.Delete(recursive: true);

    private string Checkpoint() => TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "checkpoint"));

    private string ModelDir => Path.Combine(_temp.FullName, "models", "tiny");

    [Fact]
    public async Task CancellingBetweenTensorsLeavesNoModelFolderAndNoPartialFolder()
    {
        var checkpoint = Checkpoint();
        using var cts = new CancellationTokenSource();
        var reports = new List<InstallProgress>();
        var progress = new SynchronousProgress(p =>
        {
            reports.Add(p);
            if (p.Done > 0)
                cts.Cancel(); // after the first tensor reached the data file
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _converter.ConvertAsync(checkpoint, ModelDir, Fp32, progress, cts.Token));

        Assert.False(Directory.Exists(ModelDir));
        Assert.False(Directory.Exists(ModelDir + CheckpointConverter.PartialSuffix));
        Assert.All(reports, r => Assert.Equal(InstallStage.Convert, r.Stage));
        Assert.True(reports.Count(r => r.Done > 0) == 1, "cancellation is honoured before the next tensor");
    }

    [Fact]
    public async Task APartialFolderLeftByACrashIsRemovedAndTheRerunStartsClean()
    {
        var checkpoint = Checkpoint();
        var stale = ModelDir + CheckpointConverter.PartialSuffix;
        Directory.CreateDirectory(Path.Combine(stale, "transformer"));
        await File.WriteAllTextAsync(Path.Combine(stale, "transformer", "model.onnx.data"), "half-written by a process that was killed");
        await File.WriteAllTextAsync(Path.Combine(stale, "leftover.tmp"), "x");

        await _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None);

        Assert.False(Directory.Exists(stale));
        Assert.False(File.Exists(Path.Combine(ModelDir, "leftover.tmp")));
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(TinyCheckpoint.SelfTestModelDirectory, "transformer", "model.onnx.data")),
            await File.ReadAllBytesAsync(Path.Combine(ModelDir, "transformer", "model.onnx.data")));
    }

    [Fact]
    public async Task ACheckpointMissingATensorIsRefusedNamingItBeforeAnythingIsWritten()
    {
        var checkpoint = Checkpoint();
        const string Missing = "layers.1.feed_forward.w2.weight";
        var transformer = Path.Combine(checkpoint, "transformer");
        foreach (var shard in Directory.GetFiles(transformer, "*.safetensors"))
            TinyCheckpoint.RewriteTensors(shard, (name, values) => name == Missing ? null : values);
        var index = Path.Combine(transformer, "diffusion_pytorch_model.safetensors.index.json");
        var map = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(index)).RootElement.GetProperty("weight_map")
            .EnumerateObject().Where(p => p.Name != Missing).ToDictionary(p => p.Name, p => p.Value.GetString()!);
        SafetensorsWriter.WriteIndex(index, map, 0);

        var e = await Assert.ThrowsAsync<ConvertException>(() => _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None));

        Assert.Equal(ConvertFailure.TensorsDoNotMatch, e.Failure);
        Assert.Equal(Missing, e.Tensor);
        Assert.Contains("transformer", e.Message);
        Assert.Contains("1 missing tensor", e.Message);
        Assert.Contains(Missing, e.Message);
        Assert.False(Directory.Exists(ModelDir));
        Assert.False(Directory.Exists(ModelDir + CheckpointConverter.PartialSuffix));
    }

    [Fact]
    public async Task AMisShapedTensorIsRefusedWithBothShapes()
    {
        var checkpoint = Checkpoint();
        File.WriteAllText(Path.Combine(checkpoint, "vae", "config.json"),
            File.ReadAllText(Path.Combine(checkpoint, "vae", "config.json")).Replace("\"latent_channels\": 16", "\"latent_channels\": 12"));
        File.WriteAllText(Path.Combine(checkpoint, "transformer", "config.json"),
            File.ReadAllText(Path.Combine(checkpoint, "transformer", "config.json")).Replace("\"in_channels\": 16", "\"in_channels\": 12"));

        var e = await Assert.ThrowsAsync<ConvertException>(() => _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None));

        Assert.Equal(ConvertFailure.TensorsDoNotMatch, e.Failure);
        Assert.Contains("all_x_embedder.2-1.weight: expected [32, 48], found [32, 64]", e.Message);
        Assert.False(Directory.Exists(ModelDir));
    }

    [Fact]
    public async Task AWeightBeyondFp16IsRefusedNamingTheTensorAndNothingIsLeft()
    {
        var checkpoint = Checkpoint();
        const string Big = "layers.0.feed_forward.w1.weight";
        foreach (var shard in Directory.GetFiles(Path.Combine(checkpoint, "transformer"), "*.safetensors"))
            TinyCheckpoint.RewriteTensors(shard, (name, values) =>
            {
                if (name == Big)
                    values[7] = 70000f; // representable in bf16 (70144 after rounding), beyond fp16's 65504
                return values;
            }, dtype: "BF16");

        var e = await Assert.ThrowsAsync<ConvertException>(() =>
            _converter.ConvertAsync(checkpoint, ModelDir, new ConvertOptions(WeightDtype.Fp16, WeightDtype.Fp32), null, CancellationToken.None));

        Assert.Equal(ConvertFailure.Fp16Overflow, e.Failure);
        Assert.Equal(Big, e.Tensor);
        Assert.Equal(70144f, e.Value); // 70000 as stored in bf16
        Assert.Contains(Big, e.Message);
        Assert.Contains("65504", e.Message);
        Assert.Contains("bf16 or fp32", e.Message);
        Assert.False(Directory.Exists(ModelDir));
        Assert.False(Directory.Exists(ModelDir + CheckpointConverter.PartialSuffix));

        // the same checkpoint installs as bf16, where the value fits
        await _converter.ConvertAsync(checkpoint, ModelDir, new ConvertOptions(WeightDtype.Bf16, WeightDtype.Fp32), null, CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(ModelDir, "zimage.json")));
    }

    [Fact]
    public async Task NotEnoughFreeDiskIsRefusedUpFrontNamingWhatIsNeeded()
    {
        var checkpoint = Checkpoint();
        var converter = new CheckpointConverter { FreeBytes = _ => 1_000_000 };
        var needed = converter.EstimateOutputBytes(checkpoint, Fp32);

        var e = await Assert.ThrowsAsync<ConvertException>(() => converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None));

        Assert.Equal(ConvertFailure.DiskFull, e.Failure);
        Assert.Equal(needed, e.NeededBytes);
        Assert.Equal(1_000_000, e.FreeBytes);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"needs {needed / 1e9:0.0#} GB"), e.Message);
        Assert.Contains("0.0 GB is free", e.Message);
        Assert.False(Directory.Exists(ModelDir));
        Assert.False(Directory.Exists(ModelDir + CheckpointConverter.PartialSuffix));
    }

    [Fact]
    public async Task ACheckpointMixingFloat32AndBfloat16PartsConvertsEachExactly()
    {
        // The official checkpoint has a float32 transformer beside a bfloat16 text encoder and VAE.
        var checkpoint = Checkpoint();
        var float32 = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "float32"));
        foreach (var shard in Directory.GetFiles(Path.Combine(checkpoint, "text_encoder"), "*.safetensors")
                     .Concat(Directory.GetFiles(Path.Combine(checkpoint, "vae"), "*.safetensors")))
            TinyCheckpoint.RewriteTensors(shard, (_, values) => values, dtype: "BF16");

        await _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None);

        // bf16 widens exactly: the fp32 folder holds the bf16-rounded values; the float32 transformer is untouched
        var graph = OnnxFileReader.Read(Path.Combine(ModelDir, "text_encoder", "model.onnx"));
        var embedding = OnnxFileReader.Floats(graph.Initializers.Single(i => i.Name == "embed_tokens.weight"), Path.Combine(ModelDir, "text_encoder", "model.onnx.data"));
        using (var original = new CheckpointPart(Path.Combine(float32, "text_encoder"), stripPrefix: "model."))
        {
            var expected = original.Get("embed_tokens.weight").ToArray().Select(v => WeightCodec.Bf16ToSingle(WeightCodec.ToBf16Bits(v))).ToArray();
            Assert.Equal(expected, embedding);
        }
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(TinyCheckpoint.SelfTestModelDirectory, "transformer", "model.onnx.data")),
            await File.ReadAllBytesAsync(Path.Combine(ModelDir, "transformer", "model.onnx.data")));
    }

    [Fact]
    public async Task ATruncatedShardIsReportedAsMalformedNamingTheFile()
    {
        var checkpoint = Checkpoint();
        var shard = Path.Combine(checkpoint, "transformer", "diffusion_pytorch_model-00002-of-00002.safetensors");
        await using (var f = new FileStream(shard, FileMode.Open))
            f.SetLength(f.Length - 1000); // a download cut short

        var e = await Assert.ThrowsAsync<ConvertException>(() => _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None));

        Assert.Equal(ConvertFailure.Malformed, e.Failure);
        Assert.Equal(shard, e.File);
        Assert.Contains("truncated", e.Message);
        Assert.False(Directory.Exists(ModelDir));
    }

    [Fact]
    public async Task AnExistingModelFolderIsNeverOverwritten()
    {
        var checkpoint = Checkpoint();
        Directory.CreateDirectory(ModelDir);
        await File.WriteAllTextAsync(Path.Combine(ModelDir, "mine.txt"), "keep me");

        var e = await Assert.ThrowsAsync<ConvertException>(() => _converter.ConvertAsync(checkpoint, ModelDir, Fp32, null, CancellationToken.None));

        Assert.Equal(ConvertFailure.TargetExists, e.Failure);
        Assert.Contains("already exists", e.Message);
        Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(ModelDir, "mine.txt")));
    }

    [Theory]
    [InlineData(WeightDtype.Fp32, WeightDtype.Fp32)]
    [InlineData(WeightDtype.Fp16, WeightDtype.Fp16)]
    [InlineData(WeightDtype.Bf16, WeightDtype.Fp32)]
    public async Task TheEstimateCoversWhatIsWrittenAndProgressEndsAtTheTotal(WeightDtype weights, WeightDtype vae)
    {
        var checkpoint = Checkpoint();
        var options = new ConvertOptions(weights, vae);
        var estimate = _converter.EstimateOutputBytes(checkpoint, options);
        var reports = new List<InstallProgress>();

        await _converter.ConvertAsync(checkpoint, ModelDir, options, new SynchronousProgress(reports.Add), CancellationToken.None);

        var written = Directory.GetFiles(ModelDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(written, estimate / 2, estimate);
        Assert.Equal(estimate, reports[^1].Done);
        Assert.Equal(estimate, reports[^1].Total);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Done <= p.Second.Done), "progress never goes back");
    }

    [Fact]
    public void ABf16VaeIsRefusedNamingTheOption()
    {
        var e = Assert.Throws<ArgumentException>(() => _converter.EstimateOutputBytes(Checkpoint(), new ConvertOptions(WeightDtype.Fp16, WeightDtype.Bf16)));
        Assert.Contains("Vae", e.Message);
        Assert.Contains("fp32 or fp16", e.Message);
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SynchronousProgress(Action<InstallProgress> report) : IProgress<InstallProgress>
    {
        public void Report(InstallProgress value) => report(value);
    }
}
