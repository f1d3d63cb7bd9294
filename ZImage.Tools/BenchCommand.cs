using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZImage.Engine.Imaging;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Sampling;
using ZImage.Engine.Text;

namespace ZImage.Tools;

/// <summary>
/// <c>bench --model DIR [--provider cuda] [--sizes 512,1024,1536] [--counts 1,4] [--steps 8] [--runs 3] [--warmup 1]
/// [--prompt TEXT | --prompt-tokens N] [--provider-option k=v]... [--session-config k=v]... [--vae-provider P]
/// [--sequential | --lean] [--save DIR] [--json FILE]</c>: the engine alone, no web server. Prints one JSON document:
/// per-stage times for every size and count, images per hour, peak GPU memory (NVML, sampled every 2 ms while the
/// runs are in flight), the warm-up separately, and the cold start (process start to the first image).
/// --prompt-tokens builds a prompt whose templated encoding is exactly N tokens (the PyTorch reference times its
/// text encoder at 128). --save writes each size and count's first image as bench-WxH-xN.png.
/// <c>bench --png-only [--sizes 512,1024] [--png FILE]... [--runs 5]</c>: PNG encode alone, on a smooth synthetic
/// image, on noise (what random weights make) and on the given files.
/// </summary>
internal static class BenchCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, new HashSet<string>(EngineCli.CommonFlags) { "png-only" });
            if (a.Flag("png-only"))
                return await PngBench(a, output);
            var sizes = a.IntList("sizes", [512, 1024, 1536]);
            var counts = a.IntList("counts", [1, 4]);
            var steps = a.Int("steps", 8);
            var runs = a.Int("runs", 3);
            var warmup = a.Int("warmup", 1);
            var jsonPath = a.String("json");
            var prompt = a.String("prompt") ?? "a red fox in the snow at golden hour, photograph, shallow depth of field";
            var promptTokens = a.Int("prompt-tokens", 0);
            var saveDirectory = a.String("save");
            if (runs < 1) throw new CliException("--runs must be at least 1");
            if (warmup < 0) throw new CliException("--warmup must be 0 or more");
            if (promptTokens is < 0 or > ZImagePrompt.MaxTokens) throw new CliException($"--prompt-tokens must be between 1 and {ZImagePrompt.MaxTokens}");

            using var loggers = EngineCli.Loggers(a.Flag("verbose"));
            var (pipeline, runtime) = EngineCli.OpenPipeline(a, loggers);
            a.RejectUnknown();
            if (promptTokens > 0)
                prompt = PromptOfLength(pipeline.Tokenizer, promptTokens);
            if (saveDirectory is not null)
                Directory.CreateDirectory(saveDirectory);
            using var probe = new NvmlMemoryProbe(Options.Create(new VramOptions()), loggers.CreateLogger<NvmlMemoryProbe>());
            var baseline = probe.Read();

            var report = new JsonObject
            {
                ["ort_version"] = runtime.Version,
                ["provider"] = pipeline.Provider.ToString(),
                ["command_line"] = JsonSerializer.SerializeToNode(args),
                ["model"] = pipeline.Model.Manifest.ModelName,
                ["random_weights"] = pipeline.Model.Manifest.RandomWeights,
                ["transformer_dtype"] = pipeline.Model.Manifest.TransformerDtype,
                ["attention_op"] = pipeline.Model.Manifest.AttentionOp,
                ["gpu"] = baseline?.Name,
                ["gpu_used_before_mib"] = baseline is null ? null : baseline.UsedBytes / (1 << 20),
                ["vae_provider"] = pipeline.VaeProvider.ToString(),
                ["residency"] = EngineCli.Residency(a).ToString(),
                ["prompt_tokens"] = pipeline.Tokenizer.EncodePrompt(prompt).Ids.Length,
                ["steps"] = steps,
            };
            var results = new JsonArray();
            var first = true;
            using (pipeline)
            {
                foreach (var size in sizes)
                foreach (var count in counts)
                {
                    var request = new GenerationRequest { Prompt = prompt, Width = size, Height = size, Steps = steps, Count = count, Seed = 1234 };
                    var warm = new JsonArray();
                    for (var i = 0; i < warmup; i++)
                    {
                        var result = (await Measure(pipeline, request, probe)).Result;
                        if (first)
                        {
                            report["cold_start_s"] = Math.Round((DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds, 3);
                            first = false;
                        }
                        warm.Add(Math.Round(result.Timings.Total.TotalMilliseconds, 1));
                    }
                    var measured = new List<Measured>();
                    for (var i = 0; i < runs; i++)
                        measured.Add(await Measure(pipeline, request, probe));
                    if (saveDirectory is not null)
                        GenerationPng.Save(Path.Combine(saveDirectory, $"bench-{size}x{size}-x{count}.png"), measured[0].Result.Images[0].Image,
                            ImageSettings.FromRequest(request, 0, "bench", FlowMatchEulerSchedule.DefaultShift));
                    if (first)
                    {
                        report["cold_start_s"] = Math.Round((DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds, 3);
                        first = false;
                    }
                    results.Add(Summarise(size, count, warm, measured));
                    output.WriteLine($"{size}x{size} x{count}: total {Median(measured.Select(m => m.Result.Timings.Total.TotalMilliseconds)):F1} ms (median of {runs})");
                }
            }
            report["results"] = results;
            var json = report.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            output.WriteLine(json);
            if (jsonPath is not null)
                await File.WriteAllTextAsync(jsonPath, json);
            return 0;
        }
        catch (Exception e) when (e is CliException or ModelFolderException or ArgumentException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (OnnxRuntimeException e)
        {
            // e.g. a provider that cannot build a kernel on this GPU: say which model and why, not a stack trace.
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>The fixed prompt's words repeated until the templated encoding is exactly <paramref name="tokens"/> long.</summary>
    private static string PromptOfLength(Qwen3Tokenizer tokenizer, int tokens)
    {
        string[] words = ["a", "red", "fox", "in", "the", "snow", "at", "golden", "hour", "photograph"];
        var prompt = "";
        for (var i = 0; tokenizer.CountTokens(prompt) < tokens; i++)
            prompt = i == 0 ? words[0] : prompt + " " + words[i % words.Length];
        var count = tokenizer.CountTokens(prompt);
        if (count != tokens)
            throw new CliException($"--prompt-tokens {tokens}: no prompt of these words encodes to exactly {tokens} tokens (the template alone is {tokenizer.CountTokens("")})");
        return prompt;
    }

    private static async Task<int> PngBench(CliArguments a, TextWriter output)
    {
        var sizes = a.IntList("sizes", [512, 1024]);
        var runs = a.Int("runs", 5);
        var files = a.All("png");
        a.RejectUnknown();
        if (runs < 1) throw new CliException("--runs must be at least 1");
        var images = new List<(string Name, RgbImage Image)>();
        foreach (var size in sizes)
        {
            images.Add(($"smooth {size}x{size}", SmoothImage(size)));
            var noise = new byte[size * size * 3];
            new Random(size).NextBytes(noise);
            images.Add(($"noise {size}x{size}", new RgbImage(size, size, noise)));
        }
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new CliException($"--png {file}: no such file");
            images.Add((Path.GetFileName(file), PngCodec.Decode(await File.ReadAllBytesAsync(file)).Image));
        }
        var settings = ImageSettings.FromRequest(new GenerationRequest { Prompt = "bench" }, 0, "bench", FlowMatchEulerSchedule.DefaultShift);
        var results = new JsonArray();
        foreach (var (name, image) in images)
        {
            var times = new List<double>();
            var bytes = 0;
            for (var i = 0; i < runs + 1; i++) // the first encode warms the JIT and is not counted
            {
                var clock = Stopwatch.StartNew();
                bytes = GenerationPng.Encode(image, settings).Length;
                if (i > 0) times.Add(clock.Elapsed.TotalMilliseconds);
            }
            output.WriteLine($"{name}: {Median(times):F1} ms median of {runs}, {bytes} bytes");
            results.Add(new JsonObject
            {
                ["image"] = name,
                ["encode_ms_median"] = Math.Round(Median(times), 2),
                ["encode_ms_min"] = Math.Round(times.Min(), 2),
                ["bytes"] = bytes,
            });
        }
        output.WriteLine(new JsonObject { ["cpu_count"] = Environment.ProcessorCount, ["png_encode"] = results }
            .ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    // Smooth colour fields with a little grain: a stand-in for a photograph that needs no file.
    private static RgbImage SmoothImage(int size)
    {
        var random = new Random(1);
        var pixels = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                for (var c = 0; c < 3; c++)
                    pixels[(y * size + x) * 3 + c] = (byte)Math.Clamp(128 + 60 * Math.Sin(x * 0.013 * (c + 1) + y * 0.007)
                        + 40 * Math.Cos(y * 0.021 - x * 0.004 * c) + random.Next(-3, 4), 0, 255);
        return new RgbImage(size, size, pixels);
    }

    private static async Task<Measured> Measure(ZImagePipeline pipeline, GenerationRequest request, IGpuMemoryProbe probe)
    {
        // Which stage is running, from the pipeline's own step reports (they arrive synchronously on its thread):
        // before the first report the text encoder and the first step run, after the last one the VAE. Peaks per
        // stage say which session's workspace sets the process's peak.
        var stages = new StageTracker();
        var floor = probe.Read()?.UsedBytes;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (probe.Read() is { } m)
                    stages.Record(m.UsedBytes);
                try { await Task.Delay(2, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var result = await pipeline.RunAsync(request, stages, CancellationToken.None);
        stop.Cancel();
        await sampler;
        var after = probe.Read()?.UsedBytes;
        if (after is { } used)
            stages.Record(used);
        var png = Stopwatch.StartNew();
        foreach (var image in result.Images)
            _ = GenerationPng.Encode(image.Image, ImageSettings.FromRequest(request, 0, "bench", FlowMatchEulerSchedule.DefaultShift));
        return new Measured(result, png.Elapsed.TotalMilliseconds, stages.Peak, floor, stages.Peaks, after);
    }

    private sealed record Measured(GenerationResult Result, double PngMs, long? PeakBytes, long? BeforeBytes, long?[] StagePeakBytes, long? AfterBytes);

    private sealed class StageTracker : IProgress<GenerationProgress>
    {
        public static readonly string[] Names = ["text_encoder_and_first_step", "later_steps", "vae_decode"];
        private volatile int _stage;
        private readonly long?[] _peaks = new long?[Names.Length];
        private readonly Lock _lock = new();

        public long?[] Peaks { get { lock (_lock) return (long?[])_peaks.Clone(); } }
        public long? Peak => Peaks.Max();

        public void Report(GenerationProgress value) =>
            _stage = value.ImageIndex == value.ImageCount - 1 && value.Step == value.TotalSteps ? 2 : 1;

        public void Record(long used)
        {
            lock (_lock)
                _peaks[_stage] = Math.Max(_peaks[_stage] ?? 0, used);
        }
    }

    private static JsonObject Summarise(int size, int count, JsonArray warm, List<Measured> runs)
    {
        double Med(Func<Measured, double> f) => Math.Round(Median(runs.Select(f)), 2);
        // Timings.Steps[i] is step i summed over the images of the request: per image is what compares with PyTorch.
        var stepsMs = runs.SelectMany(r => r.Result.Timings.Steps.Select(s => s.TotalMilliseconds / count)).ToList();
        var totalMs = Med(r => r.Result.Timings.Total.TotalMilliseconds + r.PngMs);
        return new JsonObject
        {
            ["width"] = size,
            ["height"] = size,
            ["count"] = count,
            ["runs"] = runs.Count,
            ["warmup_total_ms"] = warm,
            ["tokenize_ms"] = Med(r => r.Result.Timings.Tokenize.TotalMilliseconds),
            ["text_encoder_ms"] = Med(r => r.Result.Timings.TextEncoder.TotalMilliseconds),
            ["step_ms_median"] = Math.Round(Median(stepsMs), 2),
            ["step_ms_min"] = Math.Round(stepsMs.Min(), 2),
            ["step_ms_max"] = Math.Round(stepsMs.Max(), 2),
            ["steps_ms_first_run"] = new JsonArray(runs[0].Result.Timings.Steps.Select(s => (JsonNode)Math.Round(s.TotalMilliseconds / count, 2)).ToArray()),
            ["vae_ms"] = Med(r => r.Result.Timings.VaeDecode.TotalMilliseconds),
            ["png_encode_ms"] = Med(r => r.PngMs),
            ["pipeline_total_ms"] = Med(r => r.Result.Timings.Total.TotalMilliseconds),
            ["total_with_png_ms"] = totalMs,
            ["images_per_hour"] = Math.Round(3_600_000.0 * count / totalMs, 1),
            ["peak_gpu_used_mib"] = Mebibytes.Of(runs.Max(r => r.PeakBytes)),
            // What stays allocated between images (weights plus the arenas' kept workspace), and each stage's peak.
            ["gpu_used_before_run_mib"] = Mebibytes.Of(runs.Max(r => r.BeforeBytes)),
            ["gpu_used_after_run_mib"] = Mebibytes.Of(runs.Max(r => r.AfterBytes)),
            ["peak_gpu_used_mib_by_stage"] = new JsonObject(StageTracker.Names.Select((name, i) =>
                KeyValuePair.Create(name, (JsonNode?)JsonValue.Create(Mebibytes.Of(runs.Max(r => r.StagePeakBytes[i])))))),
            ["non_finite_values"] = runs.Sum(r => r.Result.NonFiniteValues),
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
