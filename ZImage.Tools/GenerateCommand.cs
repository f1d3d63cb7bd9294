using ZImage.Engine.Memory;
using ZImage.Engine.Onnx;
using ZImage.Engine.Imaging;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;

namespace ZImage.Tools;

/// <summary>
/// <c>generate --model DIR --prompt TEXT --out FILE.png</c> [--negative TEXT] [--width 1024] [--height 1024] [--steps 8]
/// [--cfg 0] [--seed N] [--count 1] [--provider cpu|cuda|tensorrt] [--provider-option k=v]... [--session-config k=v]... [--vae-provider P] [--sequential | --lean]
/// [--ort-dir DIR] [--threads N] [--verbose]. With --count above 1 the files are FILE-1.png, FILE-2.png, ...
/// </summary>
internal static class GenerateCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, EngineCli.CommonFlags);
            var defaults = GenerationRequest.Defaults;
            var request = defaults with
            {
                Prompt = a.Required("prompt"),
                NegativePrompt = a.String("negative") ?? defaults.NegativePrompt,
                Width = a.Int("width", defaults.Width),
                Height = a.Int("height", defaults.Height),
                Steps = a.Int("steps", defaults.Steps),
                Cfg = a.Float("cfg", defaults.Cfg),
                Seed = a.Long("seed", new RandomSeedSource().NextSeed()),
                Count = a.Int("count", defaults.Count),
            };
            var outPath = a.Required("out");
            var verbose = a.Flag("verbose");
            using var loggers = EngineCli.Loggers(verbose);
            var (pipeline, runtime) = EngineCli.OpenPipeline(a, loggers);
            a.RejectUnknown();
            var problems = request.Validate();
            if (problems.Count > 0)
            {
                foreach (var p in problems)
                    error.WriteLine($"error: {p.Message}");
                return 2;
            }

            using (pipeline)
            {
                output.WriteLine($"ONNX Runtime {runtime.Version} ({runtime.LibraryPath}); provider {pipeline.Provider}; model {pipeline.Model.Manifest.ModelName}{(pipeline.Model.Manifest.RandomWeights ? " (random weights)" : "")}");
                using var cancel = new CancellationTokenSource();
                Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
                var progress = new Progress<GenerationProgress>(p =>
                {
                    if (verbose)
                        output.WriteLine($"image {p.ImageIndex + 1}/{p.ImageCount} step {p.Step}/{p.TotalSteps} {p.Elapsed.TotalSeconds:F2} s");
                });
                var result = await pipeline.RunAsync(request, progress, cancel.Token);
                if (result.PromptTruncated)
                    output.WriteLine($"note: the prompt was longer than {pipeline.Model.Manifest.Tokenizer.MaxTokens} tokens and was cut");
                for (var i = 0; i < result.Images.Count; i++)
                {
                    var path = result.Images.Count == 1 ? outPath : NumberedPath(outPath, i + 1);
                    var image = result.Images[i];
                    GenerationPng.Save(path, image.Image, ImageSettings.FromRequest(request, i, pipeline.Model.Manifest.ModelName, pipeline.Model.Manifest.SamplerShift));
                    output.WriteLine($"wrote {path} ({image.Image.Width}x{image.Image.Height}, seed {image.Seed})");
                }
                output.WriteLine($"non-finite values (NaN/Inf) in latents and decoded images: {result.NonFiniteValues}");
                var t = result.Timings;
                var stepMs = t.Steps.Count == 0 ? 0 : t.Steps.Average(s => s.TotalMilliseconds);
                output.WriteLine($"timings: tokenize {t.Tokenize.TotalMilliseconds:F1} ms, text encoder {t.TextEncoder.TotalMilliseconds:F1} ms, " +
                                 $"{t.Steps.Count} steps averaging {stepMs:F1} ms, VAE {t.VaeDecode.TotalMilliseconds:F1} ms, total {t.Total.TotalMilliseconds:F1} ms");
            }
            return 0;
        }
        catch (Exception e) when (e is CliException or ModelFolderException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is OnnxRuntimeException or GpuOutOfMemoryException)
        {
            // A provider that cannot load or run the model, or memory running out: the sentence, not a stack trace.
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static string NumberedPath(string path, int number)
    {
        var directory = Path.GetDirectoryName(path) ?? "";
        return Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(path)}-{number}{Path.GetExtension(path)}");
    }
}
