using System.Text.Json;
using ZImage.Engine.Models.Install.Checkpoint;

namespace ZImage.Engine.Models.Install.Graphs;

// Architecture numbers of the three parts, read from a diffusers-layout checkpoint's config.json files, and the
// weight names and shapes each part needs. Key names follow the official Z-Image code (src/zimage/transformer.py,
// src/zimage/autoencoder.py) and transformers' Qwen3; a checkpoint is validated against these lists before
// anything is written.

internal sealed record TextEncoderArch
{
    public int VocabSize { get; init; } = 151936;
    public int HiddenSize { get; init; } = 2560;
    public int NumHiddenLayers { get; init; } = 36;
    public int NumAttentionHeads { get; init; } = 32;
    public int NumKeyValueHeads { get; init; } = 8;
    public int HeadDim { get; init; } = 128;
    public int IntermediateSize { get; init; } = 9728;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 1_000_000.0;

    /// <summary>
    /// The pipeline takes hidden_states[-2]: the output of the second-to-last decoder layer, before the final
    /// norm, so the last layer is never needed.
    /// </summary>
    public int ExportedLayers => NumHiddenLayers - 1;

    public static TextEncoderArch FromConfig(JsonElement cfg)
    {
        const string File = "text_encoder/config.json";
        var act = Config.String(cfg, "hidden_act") ?? "silu";
        if (act != "silu")
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: hidden_act must be 'silu', found '{act}'.");
        var ropeParameters = Config.Object(cfg, "rope_parameters");
        var theta = Config.Double(cfg, "rope_theta") ?? (ropeParameters is { } rp ? Config.Double(rp, "rope_theta") : null) ?? 1_000_000.0;
        var ropeType = (Config.Object(cfg, "rope_scaling") ?? ropeParameters) is { } rs ? Config.String(rs, "rope_type") : null;
        if (ropeType is not null and not "default")
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: only default RoPE is supported, found rope_type '{ropeType}'.");
        var heads = Config.RequiredInt(cfg, "num_attention_heads", File);
        var hidden = Config.RequiredInt(cfg, "hidden_size", File);
        var headDim = Config.Int(cfg, "head_dim") is { } hd and not 0 ? hd : hidden / heads;
        return new TextEncoderArch
        {
            VocabSize = Config.RequiredInt(cfg, "vocab_size", File),
            HiddenSize = hidden,
            NumHiddenLayers = Config.RequiredInt(cfg, "num_hidden_layers", File),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Config.Int(cfg, "num_key_value_heads") ?? heads,
            HeadDim = headDim,
            IntermediateSize = Config.RequiredInt(cfg, "intermediate_size", File),
            RmsNormEps = Config.Double(cfg, "rms_norm_eps") ?? 1e-6,
            RopeTheta = theta,
        };
    }

    /// <summary>Weights the exported layers need (names without the "model." prefix of a causal-LM checkpoint), in graph order.</summary>
    public IReadOnlyList<(string Name, long[] Shape)> Shapes()
    {
        var shapes = new List<(string, long[])> { ("embed_tokens.weight", [VocabSize, HiddenSize]) };
        for (var i = 0; i < ExportedLayers; i++)
            shapes.AddRange(LayerShapes(i));
        return shapes;
    }

    /// <summary>One decoder layer's weights.</summary>
    public IEnumerable<(string Name, long[] Shape)> LayerShapes(int i)
    {
        long h = HiddenSize, hd = HeadDim;
        var p = $"layers.{i}.";
        yield return (p + "input_layernorm.weight", [h]);
        yield return (p + "post_attention_layernorm.weight", [h]);
        yield return (p + "self_attn.q_proj.weight", [NumAttentionHeads * hd, h]);
        yield return (p + "self_attn.k_proj.weight", [NumKeyValueHeads * hd, h]);
        yield return (p + "self_attn.v_proj.weight", [NumKeyValueHeads * hd, h]);
        yield return (p + "self_attn.o_proj.weight", [h, NumAttentionHeads * hd]);
        yield return (p + "self_attn.q_norm.weight", [hd]);
        yield return (p + "self_attn.k_norm.weight", [hd]);
        yield return (p + "mlp.gate_proj.weight", [IntermediateSize, h]);
        yield return (p + "mlp.up_proj.weight", [IntermediateSize, h]);
        yield return (p + "mlp.down_proj.weight", [h, IntermediateSize]);
    }
}

internal sealed record TransformerArch
{
    public const int AdaLnEmbedDim = 256;
    public const int TEmbedMid = 1024; // TimestepEmbedder(mid_size=1024) is fixed in the official code, whatever the width
    public const int FreqEmbed = 256;
    public const int MaxPeriod = 10000;
    public const int SeqMultiOf = 32;

    public int InChannels { get; init; } = 16;
    public int PatchSize { get; init; } = 2;
    public int Dim { get; init; } = 3840;
    public int NLayers { get; init; } = 30;
    public int NRefinerLayers { get; init; } = 2;
    public int NHeads { get; init; } = 30;
    public int NKvHeads { get; init; } = 30;
    public double NormEps { get; init; } = 1e-5;
    public bool QkNorm { get; init; } = true;
    public int CapFeatDim { get; init; } = 2560;
    public double RopeTheta { get; init; } = 256.0;
    public double TScale { get; init; } = 1000.0;
    public int[] AxesDims { get; init; } = [32, 48, 48];
    public int[] AxesLens { get; init; } = [1536, 512, 512];

    public int HeadDim => Dim / NHeads;
    public int AdaLnDim => Math.Min(Dim, AdaLnEmbedDim);
    public int FfnHidden => (int)(Dim / 3.0 * 8);
    public int PatchDim => PatchSize * PatchSize * InChannels;

    public static TransformerArch FromConfig(JsonElement cfg)
    {
        const string File = "transformer/config.json";
        var a = new TransformerArch
        {
            InChannels = Config.Int(cfg, "in_channels") ?? 16,
            Dim = Config.Int(cfg, "dim") ?? 3840,
            NLayers = Config.Int(cfg, "n_layers") ?? 30,
            NRefinerLayers = Config.Int(cfg, "n_refiner_layers") ?? 2,
            NHeads = Config.Int(cfg, "n_heads") ?? 30,
            NKvHeads = Config.Int(cfg, "n_kv_heads") ?? 30,
            NormEps = Config.Double(cfg, "norm_eps") ?? 1e-5,
            QkNorm = Config.Bool(cfg, "qk_norm") ?? true,
            CapFeatDim = Config.Int(cfg, "cap_feat_dim") ?? 2560,
            RopeTheta = Config.Double(cfg, "rope_theta") ?? 256.0,
            TScale = Config.Double(cfg, "t_scale") ?? 1000.0,
            AxesDims = Config.Ints(cfg, "axes_dims") ?? [32, 48, 48],
            AxesLens = Config.Ints(cfg, "axes_lens") ?? [1536, 512, 512],
        };
        var patch = Config.Ints(cfg, "all_patch_size") ?? [2];
        var fpatch = Config.Ints(cfg, "all_f_patch_size") ?? [1];
        if (patch is not [2] || fpatch is not [1])
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: only all_patch_size [2] / all_f_patch_size [1] are supported, found [{string.Join(", ", patch)}] / [{string.Join(", ", fpatch)}].");
        if (a.NKvHeads != a.NHeads)
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: n_kv_heads must equal n_heads (the official code has no GQA path).");
        if (!a.QkNorm)
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: qk_norm false is not supported.");
        if (a.NHeads <= 0 || a.Dim % a.NHeads != 0 || a.HeadDim != a.AxesDims.Sum() || a.AxesDims.Any(d => d % 2 != 0) || a.AxesDims.Length != 3 || a.AxesLens.Length != 3)
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: axes_dims [{string.Join(", ", a.AxesDims)}] must be three even numbers summing to dim/n_heads = {a.Dim}/{a.NHeads}.");
        return a;
    }

    public IEnumerable<(string Name, long[] Shape)> BlockShapes(string prefix, bool modulated)
    {
        long d = Dim, hd = HeadDim, f = FfnHidden;
        yield return (prefix + "attention.to_q.weight", [d, d]);
        yield return (prefix + "attention.to_k.weight", [d, d]);
        yield return (prefix + "attention.to_v.weight", [d, d]);
        yield return (prefix + "attention.to_out.0.weight", [d, d]);
        yield return (prefix + "attention.norm_q.weight", [hd]);
        yield return (prefix + "attention.norm_k.weight", [hd]);
        yield return (prefix + "feed_forward.w1.weight", [f, d]);
        yield return (prefix + "feed_forward.w2.weight", [d, f]);
        yield return (prefix + "feed_forward.w3.weight", [f, d]);
        yield return (prefix + "attention_norm1.weight", [d]);
        yield return (prefix + "ffn_norm1.weight", [d]);
        yield return (prefix + "attention_norm2.weight", [d]);
        yield return (prefix + "ffn_norm2.weight", [d]);
        if (modulated)
        {
            yield return (prefix + "adaLN_modulation.0.weight", [4 * d, AdaLnDim]);
            yield return (prefix + "adaLN_modulation.0.bias", [4 * d]);
        }
    }

    public IReadOnlyList<(string Name, long[] Shape)> Shapes()
    {
        long d = Dim;
        var shapes = new List<(string, long[])>
        {
            ("all_x_embedder.2-1.weight", [d, PatchDim]),
            ("all_x_embedder.2-1.bias", [d]),
            ("all_final_layer.2-1.linear.weight", [PatchDim, d]),
            ("all_final_layer.2-1.linear.bias", [PatchDim]),
            ("all_final_layer.2-1.adaLN_modulation.1.weight", [d, AdaLnDim]),
            ("all_final_layer.2-1.adaLN_modulation.1.bias", [d]),
            ("t_embedder.mlp.0.weight", [TEmbedMid, FreqEmbed]),
            ("t_embedder.mlp.0.bias", [TEmbedMid]),
            ("t_embedder.mlp.2.weight", [AdaLnDim, TEmbedMid]),
            ("t_embedder.mlp.2.bias", [AdaLnDim]),
            ("cap_embedder.0.weight", [CapFeatDim]),
            ("cap_embedder.1.weight", [d, CapFeatDim]),
            ("cap_embedder.1.bias", [d]),
            ("x_pad_token", [1, d]),
            ("cap_pad_token", [1, d]),
        };
        for (var i = 0; i < NRefinerLayers; i++)
            shapes.AddRange(BlockShapes($"noise_refiner.{i}.", true));
        for (var i = 0; i < NRefinerLayers; i++)
            shapes.AddRange(BlockShapes($"context_refiner.{i}.", false));
        for (var i = 0; i < NLayers; i++)
            shapes.AddRange(BlockShapes($"layers.{i}.", true));
        return shapes;
    }
}

internal sealed record VaeArch
{
    public int LatentChannels { get; init; } = 16;
    public int OutChannels { get; init; } = 3;
    public int[] BlockOutChannels { get; init; } = [128, 256, 512, 512];
    public int LayersPerBlock { get; init; } = 2;
    public int NormNumGroups { get; init; } = 32;
    public double ScalingFactor { get; init; } = 0.3611;
    public double ShiftFactor { get; init; } = 0.1159;
    public bool UsePostQuantConv { get; init; }

    public int ScaleFactor => 1 << (BlockOutChannels.Length - 1);

    public static VaeArch FromConfig(JsonElement cfg)
    {
        const string File = "vae/config.json";
        var a = new VaeArch
        {
            LatentChannels = Config.Int(cfg, "latent_channels") ?? 16,
            OutChannels = Config.Int(cfg, "out_channels") ?? 3,
            BlockOutChannels = Config.Ints(cfg, "block_out_channels") ?? [128, 256, 512, 512],
            LayersPerBlock = Config.Int(cfg, "layers_per_block") ?? 2,
            NormNumGroups = Config.Int(cfg, "norm_num_groups") ?? 32,
            ScalingFactor = Config.Double(cfg, "scaling_factor") ?? 0.3611,
            ShiftFactor = Config.Double(cfg, "shift_factor") ?? 0.0,
            UsePostQuantConv = Config.Bool(cfg, "use_post_quant_conv") ?? true,
        };
        if (Config.Strings(cfg, "up_block_types") is { } ups && ups.Any(t => t != "UpDecoderBlock2D"))
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: only UpDecoderBlock2D up blocks are supported, found [{string.Join(", ", ups)}].");
        if (a.BlockOutChannels.Length == 0 || a.NormNumGroups <= 0 || a.BlockOutChannels.Any(c => c % a.NormNumGroups != 0))
            throw new ConvertException(ConvertFailure.Unsupported, $"{File}: block_out_channels [{string.Join(", ", a.BlockOutChannels)}] must be multiples of norm_num_groups {a.NormNumGroups}.");
        return a;
    }

    /// <summary>Decoder weights only: the encoder is never exported.</summary>
    public IReadOnlyList<(string Name, long[] Shape)> Shapes()
    {
        var shapes = new List<(string, long[])>();
        void Conv(string name, long cin, long cout, long k)
        {
            shapes.Add((name + ".weight", [cout, cin, k, k]));
            shapes.Add((name + ".bias", [cout]));
        }
        void Norm(string name, long c)
        {
            shapes.Add((name + ".weight", [c]));
            shapes.Add((name + ".bias", [c]));
        }
        void Resnet(string name, long cin, long cout)
        {
            Norm(name + ".norm1", cin);
            Conv(name + ".conv1", cin, cout, 3);
            Norm(name + ".norm2", cout);
            Conv(name + ".conv2", cout, cout, 3);
            if (cin != cout)
                Conv(name + ".conv_shortcut", cin, cout, 1);
        }

        var ch = BlockOutChannels;
        long top = ch[^1];
        if (UsePostQuantConv)
            Conv("post_quant_conv", LatentChannels, LatentChannels, 1);
        Conv("decoder.conv_in", LatentChannels, top, 3);
        Resnet("decoder.mid_block.resnets.0", top, top);
        const string A = "decoder.mid_block.attentions.0";
        Norm(A + ".group_norm", top);
        foreach (var p in new[] { "to_q", "to_k", "to_v", "to_out.0" })
        {
            shapes.Add(($"{A}.{p}.weight", [top, top]));
            shapes.Add(($"{A}.{p}.bias", [top]));
        }
        Resnet("decoder.mid_block.resnets.1", top, top);
        var rev = ch.Reverse().ToArray();
        long cout = rev[0];
        for (var i = 0; i < rev.Length; i++)
        {
            long cin = cout;
            cout = rev[i];
            for (var j = 0; j < LayersPerBlock + 1; j++)
                Resnet($"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? cin : cout, cout);
            if (i != ch.Length - 1)
                Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", cout, cout, 3);
        }
        Norm("decoder.conv_norm_out", ch[0]);
        Conv("decoder.conv_out", ch[0], OutChannels, 3);
        return shapes;
    }
}

internal sealed record Architecture(TextEncoderArch TextEncoder, TransformerArch Transformer, VaeArch Vae, double SchedulerShift = 3.0)
{
    public static Architecture FromCheckpoint(string checkpointDir)
    {
        var te = TextEncoderArch.FromConfig(Config.Read(checkpointDir, "text_encoder/config.json"));
        var dit = TransformerArch.FromConfig(Config.Read(checkpointDir, "transformer/config.json"));
        var vae = VaeArch.FromConfig(Config.Read(checkpointDir, "vae/config.json"));
        var shift = 3.0;
        if (File.Exists(Path.Combine(checkpointDir, "scheduler", "scheduler_config.json")))
        {
            var s = Config.Read(checkpointDir, "scheduler/scheduler_config.json");
            if (Config.Bool(s, "use_dynamic_shifting") == true)
                throw new ConvertException(ConvertFailure.Unsupported, "scheduler/scheduler_config.json: use_dynamic_shifting true is not supported.");
            shift = Config.Double(s, "shift") ?? 3.0;
        }
        if (dit.CapFeatDim != te.HiddenSize)
            throw new ConvertException(ConvertFailure.Unsupported, $"transformer cap_feat_dim {dit.CapFeatDim} != text encoder hidden_size {te.HiddenSize}.");
        if (dit.InChannels != vae.LatentChannels)
            throw new ConvertException(ConvertFailure.Unsupported, $"transformer in_channels {dit.InChannels} != vae latent_channels {vae.LatentChannels}.");
        return new Architecture(te, dit, vae, shift);
    }

    /// <summary>Names every missing or mis-shaped tensor at once; extra tensors (encoder, lm_head, last layer) are fine.</summary>
    public static void Validate(string part, CheckpointPart source, IReadOnlyList<(string Name, long[] Shape)> expected)
    {
        var missing = expected.Where(e => !source.Contains(e.Name)).Select(e => e.Name).ToList();
        var wrong = expected.Where(e => source.Contains(e.Name) && !source.Shape(e.Name).SequenceEqual(e.Shape))
            .Select(e => $"{e.Name}: expected [{string.Join(", ", e.Shape)}], found [{string.Join(", ", source.Shape(e.Name))}]").ToList();
        if (missing.Count == 0 && wrong.Count == 0)
            return;
        var lines = new List<string> { $"{part}: the checkpoint does not match the architecture in its config.json" };
        if (missing.Count > 0)
            lines.Add($"  {missing.Count} missing tensor{(missing.Count == 1 ? "" : "s")}: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", ..." : "")}");
        lines.AddRange(wrong.Take(8).Select(w => "  " + w));
        throw new ConvertException(ConvertFailure.TensorsDoNotMatch, string.Join("\n", lines))
        {
            Tensor = missing.Count > 0 ? missing[0] : expected.First(e => source.Contains(e.Name) && !source.Shape(e.Name).SequenceEqual(e.Shape)).Name,
        };
    }
}

/// <summary>Reading config.json values as the Python export did with dict.get(key, default).</summary>
internal static class Config
{
    public static JsonElement Read(string checkpointDir, string relative)
    {
        var path = Path.Combine(checkpointDir, relative);
        if (!File.Exists(path))
            throw new ConvertException(ConvertFailure.MissingFile, $"The checkpoint has no {relative} ({path}).") { File = path };
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ConvertException(ConvertFailure.Malformed, $"{relative} is not valid JSON: {e.Message}", e) { File = path };
        }
    }

    private static JsonElement? Value(JsonElement cfg, string key) =>
        cfg.ValueKind == JsonValueKind.Object && cfg.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? String(JsonElement cfg, string key) => Value(cfg, key) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static JsonElement? Object(JsonElement cfg, string key) => Value(cfg, key) is { ValueKind: JsonValueKind.Object } v ? v : null;

    public static double? Double(JsonElement cfg, string key) => Value(cfg, key) is { } v ? Number(v, key).GetDouble() : null;

    public static int? Int(JsonElement cfg, string key) => Value(cfg, key) is { } v ? (int)Number(v, key).GetDouble() : null;

    public static int RequiredInt(JsonElement cfg, string key, string file) =>
        Int(cfg, key) ?? throw new ConvertException(ConvertFailure.Malformed, $"{file}: the key {key} is missing.") { File = file };

    public static bool? Bool(JsonElement cfg, string key) => Value(cfg, key) is { } v
        ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw new ConvertException(ConvertFailure.Malformed, $"config key {key}: expected true or false, found {v}") }
        : null;

    public static int[]? Ints(JsonElement cfg, string key) => Value(cfg, key) is { ValueKind: JsonValueKind.Array } v
        ? v.EnumerateArray().Select(e => (int)Number(e, key).GetDouble()).ToArray()
        : null;

    public static string[]? Strings(JsonElement cfg, string key) => Value(cfg, key) is { ValueKind: JsonValueKind.Array } v
        ? v.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
        : null;

    private static JsonElement Number(JsonElement v, string key) =>
        v.ValueKind == JsonValueKind.Number ? v : throw new ConvertException(ConvertFailure.Malformed, $"config key {key}: expected a number, found {v}");
}
