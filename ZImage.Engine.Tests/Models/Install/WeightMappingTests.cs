using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Checkpoint;
using ZImage.Engine.Models.Install.Graphs;
using ZImage.Engine.Onnx;
using ZImage.Engine.Tests.Onnx;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// Where a weight could be mapped wrongly without the tiny model noticing: transposition (checked on non-square
/// matrices, numerically through ONNX Runtime against a C# matmul on torch's layout), the fp16 overflow scale
/// (which weights are divided, which eps shrinks, which outputs are multiplied back), and reshapes.
/// </summary>
[Collection(OnnxCollection.Name)]
public sealed class WeightMappingTests(OrtFixture ort) : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("zimage-mapping-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [InlineData(5, 3, 1f)]
    [InlineData(3, 7, 1f)]
    [InlineData(6, 4, 1f / 64)] // scaled down by the fp16 overflow factor, multiplied back after, as the text encoder does
    public void ALinearLayerComputesXTimesTheTransposeOfTorchsOutByInMatrix(int outFeatures, int inFeatures, float scale)
    {
        // torch layout: weight [out, in], bias [out]; values distinct so any index mix-up shows
        var weight = Enumerable.Range(0, outFeatures * inFeatures).Select(i => (float)Math.Sin(i * 1.37 + 0.3)).ToArray();
        var bias = Enumerable.Range(0, outFeatures).Select(i => 0.25f * i - 0.5f).ToArray();
        var part = Path.Combine(_temp.FullName, "checkpoint");
        Directory.CreateDirectory(part);
        SafetensorsWriter.Write(Path.Combine(part, "weights.safetensors"),
        [
            SafetensorsTensor.FromArray("proj.weight", "F32", [outFeatures, inFeatures], weight),
            SafetensorsTensor.FromArray("proj.bias", "F32", [outFeatures], bias),
        ]);
        string path;
        using (var source = new CheckpointPart(part))
        using (var g = new OnnxGraph("linear", Path.Combine(_temp.FullName, "model")))
        {
            var o = new Ops(g, WeightDtype.Fp32);
            var x = g.Input("x", Ops.ElemFloat, 2, inFeatures);
            var y = o.Linear(x, "proj", source.Get("proj.weight"), source.Get("proj.bias"), scale: scale);
            if (scale != 1f)
                y = g.Op("Mul", [y, g.Const(1f / scale)]);
            g.Output(y, "y", Ops.ElemFloat, 2, outFeatures);
            path = g.Save("test", []);
        }
        var input = Enumerable.Range(0, 2 * inFeatures).Select(i => (float)Math.Cos(i * 0.71)).ToArray();

        using var session = ort.Runtime.OpenSession(path, new InferenceSessionOptions { Provider = ExecutionProvider.Cpu, IntraOpThreads = 1 });
        using var tensor = Tensor.Create(input, 2, inFeatures);
        using var outputs = session.Run(new Dictionary<string, Tensor> { ["x"] = tensor });
        var actual = outputs[0].ToArray<float>();

        for (var r = 0; r < 2; r++)
            for (var o = 0; o < outFeatures; o++)
            {
                double expected = bias[o];
                for (var i = 0; i < inFeatures; i++)
                    expected += input[r * inFeatures + i] * weight[o * inFeatures + i];
                Assert.True(Math.Abs(expected - actual[r * outFeatures + o]) < 1e-5, $"y[{r}, {o}] = {actual[r * outFeatures + o]}, x·Wᵀ + b = {expected}");
            }
    }

    [Fact]
    public async Task AnFp16InstallDividesExactlyTheWeightsTheOverflowScaleNamesAndShrinksTheEpsAfterThem()
    {
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "tiny"));
        var model = Path.Combine(_temp.FullName, "fp16");
        await new CheckpointConverter().ConvertAsync(checkpoint, model, new ConvertOptions(WeightDtype.Fp16, WeightDtype.Fp32), null, CancellationToken.None);

        using var dit = new CheckpointPart(Path.Combine(checkpoint, "transformer"));
        var graph = OnnxFileReader.Read(Path.Combine(model, "transformer", "model.onnx"));
        var data = Path.Combine(model, "transformer", "model.onnx.data");
        float[] Stored(string name) => OnnxFileReader.Halves(graph.Initializers.Single(i => i.Name == name), data);
        float[] TransposedSource(CheckpointPart part, string name, float divide) =>
            part.Get(name).Transpose(new TransposeScratch()).ToArray().Select(v => (float)(Half)(v / divide)).ToArray();

        Assert.Equal(TransposedSource(dit, "layers.1.feed_forward.w3.weight", 64), Stored("layers.1.feed_forward.w3.weight"));
        Assert.Equal(TransposedSource(dit, "noise_refiner.0.attention.to_out.0.weight", 64), Stored("noise_refiner.0.attention.to_out.0.weight"));
        Assert.Equal(TransposedSource(dit, "layers.1.feed_forward.w1.weight", 1), Stored("layers.1.feed_forward.w1.weight"));
        Assert.Equal(TransposedSource(dit, "layers.1.feed_forward.w2.weight", 1), Stored("layers.1.feed_forward.w2.weight"));
        Assert.Equal(TransposedSource(dit, "layers.1.attention.to_q.weight", 1), Stored("layers.1.attention.to_q.weight"));
        // norms and embedders stay float32
        Assert.Equal(1, graph.Initializers.Single(i => i.Name == "layers.1.attention_norm2.weight").DataType);
        Assert.Equal(1, graph.Initializers.Single(i => i.Name == "all_x_embedder.2-1.weight").DataType);

        // the RMSNorm after to_out and w3 uses eps / 64²: find each norm's eps through its Add after ReduceMean
        var eps = NormEps(graph, Path.Combine(model, "transformer"));
        Assert.Equal((float)(1e-5 / 4096), eps["layers.1.attention_norm2.weight"]);
        Assert.Equal((float)(1e-5 / 4096), eps["context_refiner.0.ffn_norm2.weight"]);
        Assert.Equal(1e-5f, eps["layers.1.attention_norm1.weight"]);
        Assert.Equal(1e-5f, eps["layers.1.ffn_norm1.weight"]);

        // text encoder: o_proj and up_proj divided, their outputs multiplied by 64 in float32
        using var te = new CheckpointPart(Path.Combine(checkpoint, "text_encoder"), stripPrefix: "model.");
        var teGraph = OnnxFileReader.Read(Path.Combine(model, "text_encoder", "model.onnx"));
        var teData = Path.Combine(model, "text_encoder", "model.onnx.data");
        float[] TeStored(string name) => OnnxFileReader.Halves(teGraph.Initializers.Single(i => i.Name == name), teData);
        Assert.Equal(TransposedSource(te, "layers.0.self_attn.o_proj.weight", 64), TeStored("layers.0.self_attn.o_proj.weight"));
        Assert.Equal(TransposedSource(te, "layers.0.mlp.up_proj.weight", 64), TeStored("layers.0.mlp.up_proj.weight"));
        Assert.Equal(TransposedSource(te, "layers.0.mlp.gate_proj.weight", 1), TeStored("layers.0.mlp.gate_proj.weight"));
        var sixtyFour = teGraph.Initializers.Where(i => i.DataType == 1 && i.Dims.Length == 0 && BitConverter.ToSingle(i.Raw!) == 64f).Select(i => i.Name).ToHashSet();
        Assert.Equal(2 * 2, teGraph.Nodes.Count(n => n.OpType == "Mul" && n.Inputs.Any(sixtyFour.Contains))); // two per exported layer
    }

    [Fact]
    public async Task ConvolutionsKeepTorchsLayoutAndPadTokensAndGroupNormsAreOnlyReshaped()
    {
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(_temp.FullName, "tiny"));
        var model = Path.Combine(_temp.FullName, "fp32");
        await new CheckpointConverter().ConvertAsync(checkpoint, model, new ConvertOptions(WeightDtype.Fp32, WeightDtype.Fp32), null, CancellationToken.None);

        using var vae = new CheckpointPart(Path.Combine(checkpoint, "vae"));
        var vaeGraph = OnnxFileReader.Read(Path.Combine(model, "vae_decoder", "model.onnx"));
        var conv = vaeGraph.Initializers.Single(i => i.Name == "decoder.up_blocks.1.resnets.0.conv1.weight");
        Assert.Equal(vae.Shape("decoder.up_blocks.1.resnets.0.conv1.weight"), conv.Dims);
        Assert.Equal(vae.Get("decoder.up_blocks.1.resnets.0.conv1.weight").ToArray(), OnnxFileReader.Floats(conv, Path.Combine(model, "vae_decoder", "model.onnx.data")));
        var norm = vaeGraph.Initializers.Single(i => i.Name == "decoder.mid_block.resnets.0.norm1.weight");
        Assert.Equal([16L, 1, 1], norm.Dims);
        Assert.Equal(vae.Get("decoder.mid_block.resnets.0.norm1.weight").ToArray(), OnnxFileReader.Floats(norm, ""));

        using var dit = new CheckpointPart(Path.Combine(checkpoint, "transformer"));
        var pad = OnnxFileReader.Read(Path.Combine(model, "transformer", "model.onnx")).Initializers.Single(i => i.Name == "cap_pad_token");
        Assert.Equal([1L, 1, 32], pad.Dims);
        Assert.Equal(dit.Get("cap_pad_token").ToArray(), OnnxFileReader.Floats(pad, ""));
    }

    /// <summary>For every RMSNorm weight: the eps constant of the Add between its ReduceMean and Sqrt.</summary>
    private static Dictionary<string, float> NormEps(OnnxFileReader graph, string dir)
    {
        var producer = graph.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var consts = graph.Initializers.Where(i => i.DataType == 1 && i.Dims.Length == 0).ToDictionary(i => i.Name, i => BitConverter.ToSingle(i.Raw!));
        var result = new Dictionary<string, float>();
        foreach (var mul in graph.Nodes.Where(n => n.OpType == "Mul" && n.Inputs[1].EndsWith("norm1.weight", StringComparison.Ordinal) || n.OpType == "Mul" && n.Inputs[1].EndsWith("norm2.weight", StringComparison.Ordinal)))
        {
            var div = producer[mul.Inputs[0]];
            var sqrt = producer[div.Inputs[1]];
            var add = producer[sqrt.Inputs[0]];
            result[mul.Inputs[1]] = consts[add.Inputs[1]];
        }
        return result;
    }
}
