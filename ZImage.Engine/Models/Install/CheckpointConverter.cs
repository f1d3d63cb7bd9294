using System.Text.Json;
using ZImage.Engine.Models.Install.Checkpoint;
using ZImage.Engine.Models.Install.Graphs;

namespace ZImage.Engine.Models.Install;

/// <summary>
/// Turns a Z-Image-Turbo checkpoint in the diffusers layout (model_index.json, transformer/, text_encoder/, vae/,
/// tokenizer/, scheduler/; F32, BF16 or F16 safetensors, single or sharded) into a model folder
/// (docs/model-format.md): the text encoder, transformer and VAE decoder graphs with their weights converted to
/// the chosen dtype, the tokenizer and zimage.json. Weights stream tensor by tensor, so memory stays near the
/// largest single matrix (157 MB) whatever the model size. Everything is written into "&lt;model&gt;.partial"
/// beside the target and renamed at the end: a folder under the final name is always complete. A cancelled or
/// failed conversion removes the partial folder; one left by a crash is removed by the next run. Refusals are
/// <see cref="ConvertException"/>s; two conversions into the same target at once are not supported.
/// </summary>
public sealed class CheckpointConverter : ICheckpointConverter
{
    public const string PartialSuffix = ".partial";

    /// <summary>fp16 keeps transformer to_out/w3 and text-encoder o_proj/up_proj outputs in range by scaling them down by this.</summary>
    public const float Fp16OverflowScale = 64f;

    // Graph structure, constants (the RoPE tables are ~0.6 MB) and alignment padding, over-counted.
    private const long FixedOverheadBytes = 8L << 20;
    private const long PerTensorOverheadBytes = 4096;

    /// <summary>Free bytes on the volume holding a folder; replaceable so the refusal can be tested without filling a disk.</summary>
    internal Func<string, long> FreeBytes { get; init; } = folder => new DriveInfo(Path.GetPathRoot(Path.GetFullPath(folder))!).AvailableFreeSpace;

    public long EstimateOutputBytes(string checkpointDir, ConvertOptions options)
    {
        ValidateOptions(options);
        var arch = Architecture.FromCheckpoint(checkpointDir);
        long Part(IReadOnlyList<(string Name, long[] Shape)> shapes, WeightDtype dtype) =>
            shapes.Sum(s => s.Shape.Aggregate(1L, (a, b) => a * b) * WeightCodec.ElementSize(dtype) + PerTensorOverheadBytes);
        var tokenizer = Path.Combine(checkpointDir, "tokenizer", "tokenizer.json");
        return Part(arch.TextEncoder.Shapes(), options.Weights)
            + Part(arch.Transformer.Shapes(), options.Weights)
            + Part(arch.Vae.Shapes(), options.Vae)
            + (File.Exists(tokenizer) ? new FileInfo(tokenizer).Length : 0)
            + FixedOverheadBytes;
    }

    public Task ConvertAsync(string checkpointDir, string modelDir, ConvertOptions options, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        ValidateOptions(options);
        // The work is disk reads, conversion loops and disk writes: one background thread, cancellation checked
        // before every tensor and every 1 M-element slice of a large one.
        return Task.Run(() => Convert(checkpointDir, modelDir, options, progress, ct), ct);
    }

    private void Convert(string checkpointDir, string modelDir, ConvertOptions options, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        checkpointDir = Path.GetFullPath(checkpointDir);
        modelDir = Path.GetFullPath(modelDir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (!Directory.Exists(checkpointDir))
            throw new ConvertException(ConvertFailure.MissingFile, $"The checkpoint folder {checkpointDir} does not exist.") { File = checkpointDir };
        if (Directory.Exists(modelDir) && Directory.EnumerateFileSystemEntries(modelDir).Any())
            throw new ConvertException(ConvertFailure.TargetExists, $"The model folder {modelDir} already exists and is not empty; choose another folder or remove it first.") { File = modelDir };

        var arch = Architecture.FromCheckpoint(checkpointDir);
        var tokenizerJson = Path.Combine(checkpointDir, "tokenizer", "tokenizer.json");
        if (!File.Exists(tokenizerJson))
            throw new ConvertException(ConvertFailure.MissingFile, $"The checkpoint has no tokenizer/tokenizer.json ({tokenizerJson}).") { File = tokenizerJson };
        var origin = ReadOrigin(checkpointDir);

        using var textEncoder = new CheckpointPart(Path.Combine(checkpointDir, "text_encoder"), stripPrefix: "model.");
        using var transformer = new CheckpointPart(Path.Combine(checkpointDir, "transformer"));
        using var vae = new CheckpointPart(Path.Combine(checkpointDir, "vae"));
        Architecture.Validate("text_encoder", textEncoder, arch.TextEncoder.Shapes());
        Architecture.Validate("transformer", transformer, arch.Transformer.Shapes());
        Architecture.Validate("vae", vae, arch.Vae.Shapes());

        var total = EstimateOutputBytes(checkpointDir, options);
        var parent = Path.GetDirectoryName(modelDir)!;
        Directory.CreateDirectory(parent);
        var partial = modelDir + PartialSuffix;
        var reclaimable = Directory.Exists(partial) ? Directory.GetFiles(partial, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;
        var free = FreeBytes(parent) + reclaimable;
        if (free < total)
            throw new ConvertException(ConvertFailure.DiskFull, $"Not enough free disk for the model folder: it needs {Gb(total)} in {parent}, {Gb(free)} is free.")
            {
                File = parent,
                NeededBytes = total,
                FreeBytes = free,
            };
        // A partial folder is never in use: it is what a crashed or killed conversion left.
        if (Directory.Exists(partial))
            Directory.Delete(partial, recursive: true);
        Directory.CreateDirectory(partial);
        try
        {
            long done = 0;
            var dtype = options.Weights;
            var scale = dtype == WeightDtype.Fp16 ? Fp16OverflowScale : 1f;
            var parameters = new Dictionary<string, long>();

            void Part(string part, string graphName, WeightDtype partDtype, Action<OnnxGraph> build)
            {
                progress?.Report(new InstallProgress(InstallStage.Convert, done, total, part));
                using var g = new OnnxGraph(graphName, Path.Combine(partial, part), ct, bytes =>
                {
                    done += bytes;
                    progress?.Report(new InstallProgress(InstallStage.Convert, done, total, part));
                });
                build(g);
                g.Save(ManifestWriter.ToolVersion, [new("zimage.part", part), new("zimage.dtype", WeightCodec.Name(partDtype))]);
                parameters[part] = g.ParamCount;
            }

            Part("text_encoder", "zimage_text_encoder", dtype, g => TextEncoderGraph.Build(g, arch.TextEncoder, textEncoder, dtype, scale));
            Part("transformer", "zimage_transformer", dtype, g => TransformerGraph.Build(g, arch.Transformer, transformer, dtype, scale));
            Part("vae_decoder", "zimage_vae_decoder", options.Vae, g => VaeDecoderGraph.Build(g, arch.Vae, vae, options.Vae));
            ct.ThrowIfCancellationRequested();

            var tokenizer = ManifestWriter.Tokenizer(partial, tokenizerJson, Path.Combine(checkpointDir, "tokenizer", "tokenizer_config.json"));
            ManifestWriter.Write(partial, arch, dtype, options.Vae, scale, origin, tokenizer, parameters);
            ct.ThrowIfCancellationRequested();
            if (Directory.Exists(modelDir))
                Directory.Delete(modelDir); // empty, checked above
            Directory.Move(partial, modelDir);
            progress?.Report(new InstallProgress(InstallStage.Convert, total, total));
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    private static string Gb(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1e9:0.0#} GB");

    private static void ValidateOptions(ConvertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(options.Weights))
            throw new ArgumentException($"Weights: {options.Weights} is not one of fp16, bf16, fp32.", nameof(options));
        if (options.Vae is not (WeightDtype.Fp32 or WeightDtype.Fp16))
            throw new ArgumentException($"Vae: {options.Vae} is not allowed; the VAE decoder is fp32 or fp16.", nameof(options));
    }

    /// <summary>
    /// The official checkpoint is Z-Image-Turbo. A checkpoint derived for tests (random weights) says so in
    /// model_index.json under "_zimage_model_name" / "_zimage_random_weights", so its folder is labelled honestly.
    /// </summary>
    private static ManifestWriter.Origin ReadOrigin(string checkpointDir)
    {
        var name = "Z-Image-Turbo";
        var random = false;
        var index = Path.Combine(checkpointDir, "model_index.json");
        if (File.Exists(index))
        {
            var root = Config.Read(checkpointDir, "model_index.json");
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("_zimage_model_name", out var n) && n.ValueKind == JsonValueKind.String)
                    name = n.GetString()!;
                if (root.TryGetProperty("_zimage_random_weights", out var r) && r.ValueKind is JsonValueKind.True)
                    random = true;
            }
        }
        return new ManifestWriter.Origin(name, random, $"checkpoint {Path.GetFileName(checkpointDir)}", DateTime.UtcNow);
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next run, which removes a stale partial folder before it starts.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
