using System.Security.Cryptography;
using System.Text.Json;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;
using ZImage.Engine.Text;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>
/// The C# pipeline on ONNX Runtime (CPU) against the official PyTorch implementation, on the tiny model.
/// Tolerances, and why they are right:
/// - token ids: exact (the tokenizer is integer logic);
/// - caption features, model outputs, latents: both sides compute in float32 but with different kernels
///   (ORT's fused attention, MLAS GEMMs vs torch's), so values differ in the last bits; the error relative to the
///   tensor's own scale (max |a - b| / max |b|) must stay under 1e-4, two orders above the float32 rounding
///   noise seen (~1e-6) yet far below what any real mistake (a transposed axis, a wrong sign, a missed pad token,
///   a shifted sigma) produces, which is O(1);
/// - final 8-bit image: rounding to bytes turns a last-bit difference into at most one level, and only where a
///   value sits on a rounding edge; so every pixel within 1 level and at most 1% of them off at all.
/// </summary>
public sealed class GoldenParityTests(GoldenFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    : GoldenParityChecks<GoldenFixture>(fixture, output), IClassFixture<GoldenFixture>;

/// <summary>The checks of <see cref="GoldenParityTests"/>, for every folder that must compute the golden outputs.</summary>
public abstract class GoldenParityChecks<TFixture>(TFixture fixture, Xunit.Abstractions.ITestOutputHelper output) where TFixture : GoldenFixture
{
    private const double RelativeTolerance = 1e-4;

    [Fact]
    public void TheModelsWeightsAreTheBytesTheGoldensWereMadeWith()
    {
        foreach (var file in fixture.Root.GetProperty("model_files_sha256").EnumerateObject())
        {
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(fixture.ModelDirectory, file.Name))));
            Assert.True(file.Value.GetString() == sha256, $"{file.Name}: sha256 {sha256}, the goldens' is {file.Value.GetString()}");
        }
    }

    [Fact]
    public void TemplatedPromptIdsEqualTheReference()
    {
        foreach (var prompt in fixture.Root.GetProperty("templated_prompts").EnumerateArray())
        {
            var text = prompt.GetProperty("text").GetString()!;
            var expected = prompt.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var tokens = fixture.Pipeline.Tokenizer.EncodePrompt(text);
            Assert.True(expected.SequenceEqual(tokens.Ids), $"ids differ for prompt '{prompt.GetProperty("name").GetString()}'");
            Assert.Equal(prompt.GetProperty("truncated").GetBoolean(), tokens.Truncated);
        }
    }

    [Fact]
    public void CaptionFeaturesMatchTheReference()
    {
        var prompts = fixture.Root.GetProperty("templated_prompts").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (var entry in fixture.Root.GetProperty("caption_features").EnumerateArray())
        {
            var name = entry.GetProperty("prompt").GetString()!;
            var ids = prompts[name].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = fixture.Pipeline.EncodeText(ids, CancellationToken.None);
            AssertClose(fixture.Floats(entry), actual, $"caption features of '{name}'");
        }
    }

    [Fact]
    public void SigmasEqualTheReferenceSchedule()
    {
        foreach (var run in fixture.Root.GetProperty("runs").EnumerateArray())
        {
            var expected = run.GetProperty("sigmas").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var schedule = FlowMatchEulerSchedule.Create(run.GetProperty("steps").GetInt32(), fixture.Model.Manifest.SamplerShift);
            Assert.Equal(expected, schedule.Sigmas.ToArray());
        }
    }

    [Theory]
    [InlineData("cfg_off")]
    [InlineData("cfg_on")]
    public void EveryStepAndTheImageMatchTheReference(string runName)
    {
        var run = fixture.Run(runName);
        var (perStep, result) = fixture.RunRecordingSteps(run);

        var steps = run.GetProperty("per_step").EnumerateArray().ToArray();
        Assert.Equal(steps.Length, perStep.Count);
        for (var i = 0; i < steps.Length; i++)
            AssertClose(fixture.Floats(steps[i].GetProperty("latent_after")), perStep[i], $"{runName}: latent after step {i}");

        var expectedPixels = fixture.Bytes(run.GetProperty("image_u8_hwc"));
        var actualPixels = result.Images[0].Image.Pixels;
        Assert.Equal(expectedPixels.Length, actualPixels.Length);
        var off = 0;
        for (var i = 0; i < expectedPixels.Length; i++)
        {
            var d = Math.Abs(expectedPixels[i] - actualPixels[i]);
            Assert.True(d <= 1, $"{runName}: pixel byte {i} is {actualPixels[i]}, reference {expectedPixels[i]}");
            if (d > 0) off++;
        }
        output.WriteLine($"{runName}: {off} of {expectedPixels.Length} bytes differ by one level, none by more");
        Assert.True(off <= expectedPixels.Length / 100, $"{runName}: {off} of {expectedPixels.Length} bytes differ by one level (at most 1% allowed)");
        Assert.Equal(0, result.NonFiniteValues);
    }

    [Fact]
    public async Task TheSameSeedGivesIdenticalPixels()
    {
        var request = new GenerationRequest { Prompt = "a lighthouse at dusk", Width = 256, Height = 320, Steps = 3, Seed = 7, Count = 2 };
        var first = await fixture.Pipeline.RunAsync(request, null, CancellationToken.None);
        var second = await fixture.Pipeline.RunAsync(request, null, CancellationToken.None);
        Assert.Equal(2, first.Images.Count);
        Assert.Equal(first.Images[0].Image.Pixels, second.Images[0].Image.Pixels);
        Assert.Equal(first.Images[1].Image.Pixels, second.Images[1].Image.Pixels);
        Assert.Equal([7L, 8L], first.Images.Select(i => i.Seed));
        Assert.NotEqual(first.Images[0].Image.Pixels, first.Images[1].Image.Pixels);
    }

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, reference has {expected.Length}");
        var (worst, worstIndex, scale, relative) = GoldenFixture.Difference(expected, actual);
        output.WriteLine($"{what}: max |diff| {worst:E2}, relative to scale {scale:E2}: {relative:E2}");
        Assert.True(relative <= RelativeTolerance,
            $"{what}: max |difference| {worst:E3} at {worstIndex} ({actual[Math.Max(worstIndex, 0)]} vs {expected[Math.Max(worstIndex, 0)]}) is {relative:E3} of the reference scale {scale:E3}; allowed {RelativeTolerance:E0}");
    }
}
