using Microsoft.Extensions.Logging;
using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Models.Install;

/// <summary>
/// The install's last stage: one 256×256 picture in 2 steps with the new folder, on the provider the studio is set
/// to, loading one part at a time (the active model may still hold the GPU). Problems come back as sentences a
/// designer can act on, not as exceptions.
/// </summary>
public sealed class PipelineInstallCheck(Func<OrtRuntime> runtime, Func<EngineOptions> engine, ILoggerFactory loggers) : IInstallCheck
{
    public const int Side = 256;
    public const int Steps = 2;

    public async Task<IReadOnlyList<string>> CheckAsync(string modelDirectory, CancellationToken ct)
    {
        var problems = new List<string>();
        try
        {
            var folder = ModelFolder.Open(modelDirectory);
            var ort = runtime();
            var options = engine();
            using var pipeline = new ZImagePipeline(folder, ort, options.ToSessionOptions(ort), _ => ResidencyPolicy.Sequential,
                loggers.CreateLogger<ZImagePipeline>(), options.ToVaeSessionOptions(ort));
            var request = new GenerationRequest { Prompt = "a red apple on a wooden table", Width = Side, Height = Side, Steps = Steps, Seed = 42 };
            var result = await pipeline.RunAsync(request, null, ct);
            problems.AddRange(Judge(result));
        }
        catch (ModelFolderException e)
        {
            problems.Add($"the folder does not pass its check: {string.Join("; ", e.Problems)}");
        }
        catch (Exception e) when (e is OnnxRuntimeException or GpuOutOfMemoryException or InvalidDataException)
        {
            problems.Add($"the test picture could not be made: {e.Message}");
        }
        return problems;
    }

    /// <summary>What is wrong with a test picture, in plain words: wrong size, or NaN/Inf values (weights that did not convert).</summary>
    public static IEnumerable<string> Judge(GenerationResult result)
    {
        if (result.Images.Count != 1)
        {
            yield return $"the test run returned {result.Images.Count} pictures instead of 1";
            yield break;
        }
        var image = result.Images[0].Image;
        if (image.Width != Side || image.Height != Side)
            yield return $"the test picture came out {image.Width}×{image.Height} instead of {Side}×{Side}: the VAE decoder does not match the transformer";
        if (result.NonFiniteValues > 0)
            yield return $"the test picture has {result.NonFiniteValues:N0} broken values (NaN or infinity): the weights overflow in this precision; install again with --dtype bf16 or an fp32 VAE (--vae-dtype fp32)";
    }
}
