using ZImage.Engine.Models.Install;
using ZImage.Engine.Tests.Pipeline;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>The tiny checkpoint converted by the installer, in a fresh folder, run through the pipeline.</summary>
public class ConvertedTinyModelFixture : GoldenFixture
{
    private readonly string _tempRoot;

    public ConvertedTinyModelFixture()
        : this(new ConvertOptions(WeightDtype.Fp32, WeightDtype.Fp32))
    {
    }

    protected ConvertedTinyModelFixture(ConvertOptions options)
        : base(Convert(options, out var root))
    {
        _tempRoot = root;
    }

    public override void Dispose()
    {
        base.Dispose();
        System.IO.Directory.Delete(_tempRoot, recursive: true);
    }

    private static string Convert(ConvertOptions options, out string root)
    {
        root = System.IO.Directory.CreateTempSubdirectory("zimage-converted-golden-").FullName;
        var checkpoint = TinyCheckpoint.WriteWithTokenizer(Path.Combine(root, "tiny-checkpoint"));
        var model = Path.Combine(root, "model");
        new CheckpointConverter().ConvertAsync(checkpoint, model, options, null, CancellationToken.None).GetAwaiter().GetResult();
        return model;
    }
}

/// <summary>The same checkpoint installed as fp16 weights with an fp16 VAE (the overflow scale in place).</summary>
public sealed class ConvertedFp16TinyModelFixture() : ConvertedTinyModelFixture(new ConvertOptions(WeightDtype.Fp16, WeightDtype.Fp16));

/// <summary>Every golden check (token ids, caption features, each sampler step, the picture) on the converted folder.</summary>
public sealed class ConvertedGoldenParityTests(ConvertedTinyModelFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    : GoldenParityChecks<ConvertedTinyModelFixture>(fixture, output), IClassFixture<ConvertedTinyModelFixture>;

/// <summary>
/// The fp16 install computes what the reference computes, within fp16 rounding: the overflow scale (weights divided
/// by 64, eps by 64², outputs multiplied back) must cancel exactly, so a mistake there shows as an error above 1e-2
/// while fp16 rounding of the weights stays around 1e-3 of the scale. ONNX Runtime's CPU provider computes the fp16 nodes in
/// float32 (it inserts casts), so this checks the stored weights and the graph, not fp16 arithmetic.
/// </summary>
public sealed class ConvertedFp16ParityTests(ConvertedFp16TinyModelFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<ConvertedFp16TinyModelFixture>
{
    // Seen: at most 1.0e-3 (caption features of the long prompt), 2.9e-4 on the latents. With the transformer's eps
    // left unscaled after the divided weights (tried), the latent is 1.1e-2 off after the second step and growing;
    // a weight not divided or not multiplied back is off by O(1).
    private const double RelativeTolerance = 1e-2;

    [Fact]
    public void CaptionFeaturesMatchTheReferenceWithinFp16Rounding()
    {
        var prompts = fixture.Root.GetProperty("templated_prompts").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (var entry in fixture.Root.GetProperty("caption_features").EnumerateArray())
        {
            var name = entry.GetProperty("prompt").GetString()!;
            var ids = prompts[name].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            AssertClose(fixture.Floats(entry), fixture.Pipeline.EncodeText(ids, CancellationToken.None), $"fp16 caption features of '{name}'");
        }
    }

    [Fact]
    public void EveryStepMatchesTheReferenceWithinFp16Rounding()
    {
        var run = fixture.Run("cfg_off");
        var (perStep, result) = fixture.RunRecordingSteps(run);

        var steps = run.GetProperty("per_step").EnumerateArray().ToArray();
        Assert.Equal(steps.Length, perStep.Count);
        for (var i = 0; i < steps.Length; i++)
            AssertClose(fixture.Floats(steps[i].GetProperty("latent_after")), perStep[i], $"fp16: latent after step {i}");
        Assert.Equal(0, result.NonFiniteValues);
        var expected = fixture.Bytes(run.GetProperty("image_u8_hwc"));
        var pixels = result.Images[0].Image.Pixels;
        var meanDifference = expected.Zip(pixels, (a, b) => Math.Abs(a - b)).Average();
        output.WriteLine($"fp16 picture: mean |difference| {meanDifference:F3} levels of 255");
        Assert.True(meanDifference < 1, $"fp16 picture differs from the reference by {meanDifference:F2} levels on average");
    }

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var (worst, _, scale, relative) = GoldenFixture.Difference(expected, actual);
        output.WriteLine($"{what}: max |diff| {worst:E2}, relative to scale {scale:E2}: {relative:E2}");
        Assert.True(relative <= RelativeTolerance, $"{what}: {relative:E3} of the reference scale; allowed {RelativeTolerance:E0}");
    }
}
