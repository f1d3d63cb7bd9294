using System.Text.Json;

namespace ZImage.Engine.Models;

/// <summary>
/// The numbers the engine needs from a model folder's <c>zimage.json</c> (written by tools/export; every key is
/// described in docs/model-format.md). Read-only after loading.
/// </summary>
public sealed record ModelManifest
{
    public const string ManifestFileName = "zimage.json";
    public const string ExpectedFormat = "zimage-onnx";
    public const int SupportedFormatVersion = 1;

    public required int FormatVersion { get; init; }
    public required string ModelName { get; init; }
    public required bool RandomWeights { get; init; }
    public required string AttentionOp { get; init; }
    public required string TransformerDtype { get; init; }

    /// <summary>dtypes.vae_decoder: "fp32" (older exports say nothing and are fp32) or "fp16" (export --vae-dtype fp16).</summary>
    public string VaeDtype { get; init; } = "fp32";
    public required TokenizerSection Tokenizer { get; init; }
    public required PartSection TextEncoder { get; init; }
    public required PartSection Transformer { get; init; }
    public required PartSection VaeDecoder { get; init; }
    public required int TextHiddenSize { get; init; }
    public required int VocabularySize { get; init; }
    public required int LatentChannels { get; init; }
    public required int PatchSize { get; init; }
    public required int CaptionDim { get; init; }
    public required int MaxLatentSide { get; init; }
    public required int VaeScaleFactor { get; init; }
    public required bool VaeScalingInGraph { get; init; }
    public required double VaeScalingFactor { get; init; }
    public required double VaeShiftFactor { get; init; }
    public required double SamplerShift { get; init; }
    public required int SizeMultiple { get; init; }

    public sealed record TokenizerSection(string File, int MaxTokens, string TemplatePrefix, string TemplateSuffix);

    /// <summary>One ONNX part: its graph, its external weights, and the byte counts the export recorded.</summary>
    public sealed record PartSection(string Name, string Model, string ExternalData, long ModelBytes, long ExternalDataBytes);

    /// <summary>
    /// Parses and checks the manifest. Every problem found is collected (not just the first) so a person fixing a
    /// folder sees the whole list; each names the key and what was expected.
    /// </summary>
    public static ModelManifest Parse(string json, string sourcePath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelFolderException($"{sourcePath} is not valid JSON: {e.Message}", [$"is not valid JSON: {e.Message}"]);
        }

        using (document)
        {
            var reader = new Reader(document.RootElement, sourcePath);
            var format = reader.String("format");
            if (format is not null && format != ExpectedFormat)
                reader.Problem("format", $"is \"{format}\"; this engine reads \"{ExpectedFormat}\" folders made by tools/export");
            var version = reader.Int("format_version");
            if (version is not null && version != SupportedFormatVersion)
                reader.Problem("format_version", $"is {version}; this engine reads version {SupportedFormatVersion}: re-export the model with this release's tools/export");

            var manifest = new ModelManifest
            {
                FormatVersion = version ?? 0,
                ModelName = reader.String("model_name") ?? "",
                RandomWeights = reader.Bool("random_weights") ?? false,
                AttentionOp = reader.String("export.attention_op") ?? "",
                TransformerDtype = reader.String("dtypes.transformer") ?? "",
                VaeDtype = reader.String("dtypes.vae_decoder") ?? "fp32",
                Tokenizer = new TokenizerSection(
                    reader.String("tokenizer.file") ?? "",
                    reader.Int("tokenizer.max_tokens") ?? 0,
                    reader.String("tokenizer.template_prefix") ?? "",
                    reader.String("tokenizer.template_suffix") ?? ""),
                TextEncoder = reader.Part("text_encoder"),
                Transformer = reader.Part("transformer"),
                VaeDecoder = reader.Part("vae_decoder"),
                TextHiddenSize = reader.Int("text_encoder.hidden_size") ?? 0,
                VocabularySize = reader.Int("text_encoder.vocab_size") ?? 0,
                LatentChannels = reader.Int("transformer.in_channels") ?? 0,
                PatchSize = reader.Int("transformer.patch_size") ?? 0,
                CaptionDim = reader.Int("transformer.caption_dim") ?? 0,
                MaxLatentSide = reader.Int("transformer.max_latent_side") ?? 0,
                VaeScaleFactor = reader.Int("vae_decoder.scale_factor") ?? 0,
                VaeScalingInGraph = reader.Bool("vae_decoder.scaling_in_graph") ?? false,
                VaeScalingFactor = reader.Double("vae_decoder.scaling_factor") ?? 0,
                VaeShiftFactor = reader.Double("vae_decoder.shift_factor") ?? 0,
                SamplerShift = reader.Double("sampler.shift") ?? 0,
                SizeMultiple = reader.Int("image.size_multiple") ?? 0,
            };

            // The architecture must hang together: a folder whose parts come from different exports (or another
            // model family) fails here with the mismatching numbers rather than deep inside ONNX Runtime.
            var vaeChannels = reader.Int("vae_decoder.latent_channels");
            if (vaeChannels is not null && vaeChannels != manifest.LatentChannels)
                reader.Problem("vae_decoder.latent_channels", $"is {vaeChannels} but transformer.in_channels is {manifest.LatentChannels}: the VAE and the transformer come from different models");
            if (manifest.CaptionDim != manifest.TextHiddenSize)
                reader.Problem("transformer.caption_dim", $"is {manifest.CaptionDim} but text_encoder.hidden_size is {manifest.TextHiddenSize}: the text encoder and the transformer come from different models");
            if (manifest.SizeMultiple != manifest.VaeScaleFactor * manifest.PatchSize)
                reader.Problem("image.size_multiple", $"is {manifest.SizeMultiple}, expected vae_decoder.scale_factor x transformer.patch_size = {manifest.VaeScaleFactor * manifest.PatchSize}");
            if (reader.String("sampler.type") is { } sampler && sampler != "flow_match_euler")
                reader.Problem("sampler.type", $"is \"{sampler}\"; only flow_match_euler is supported");
            reader.Positive("text_encoder.hidden_size", manifest.TextHiddenSize);
            reader.Positive("transformer.in_channels", manifest.LatentChannels);
            reader.Positive("transformer.patch_size", manifest.PatchSize);
            reader.Positive("transformer.max_latent_side", manifest.MaxLatentSide);
            reader.Positive("vae_decoder.scale_factor", manifest.VaeScaleFactor);
            reader.Positive("tokenizer.max_tokens", manifest.Tokenizer.MaxTokens);
            if (!(manifest.SamplerShift > 0))
                reader.Problem("sampler.shift", $"must be positive (got {manifest.SamplerShift})");

            if (reader.Problems.Count > 0)
                throw new ModelFolderException(
                    $"{sourcePath} does not describe a Z-Image model this engine can load: {string.Join("; ", reader.Problems)}",
                    reader.Problems);
            return manifest;
        }
    }

    /// <summary>Walks dotted paths, recording a problem (rather than throwing) for each missing or mistyped key.</summary>
    private sealed class Reader(JsonElement root, string source)
    {
        public List<string> Problems { get; } = [];

        public void Problem(string key, string message) => Problems.Add($"{key} {message}");

        public void Positive(string key, long value)
        {
            if (value <= 0 && !Problems.Any(p => p.StartsWith(key + " ", StringComparison.Ordinal)))
                Problem(key, $"must be positive (got {value})");
        }

        public string? String(string path) => Get(path, JsonValueKind.String, "a string")?.GetString();
        public bool? Bool(string path)
        {
            var element = Find(path);
            if (element is null) return null;
            if (element.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) return element.Value.GetBoolean();
            Problem(path, "must be true or false");
            return null;
        }
        public int? Int(string path)
        {
            var element = Get(path, JsonValueKind.Number, "a whole number");
            if (element is null) return null;
            if (element.Value.TryGetInt32(out var value)) return value;
            Problem(path, "must be a whole number");
            return null;
        }
        public long? Long(string path)
        {
            var element = Get(path, JsonValueKind.Number, "a whole number");
            if (element is null) return null;
            if (element.Value.TryGetInt64(out var value)) return value;
            Problem(path, "must be a whole number");
            return null;
        }
        public double? Double(string path) => Get(path, JsonValueKind.Number, "a number")?.GetDouble();

        public PartSection Part(string name) => new(
            name,
            String($"{name}.model") ?? "",
            String($"{name}.external_data") ?? "",
            Long($"{name}.model_bytes") ?? 0,
            Long($"{name}.external_data_bytes") ?? 0);

        private JsonElement? Get(string path, JsonValueKind kind, string what)
        {
            var element = Find(path);
            if (element is null) return null;
            if (element.Value.ValueKind == kind) return element;
            Problem(path, $"must be {what}");
            return null;
        }

        private JsonElement? Find(string path)
        {
            var current = root;
            foreach (var segment in path.Split('.'))
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment, out current))
                {
                    Problem(path, $"is missing from {Path.GetFileName(source)}");
                    return null;
                }
            }
            return current;
        }
    }
}
