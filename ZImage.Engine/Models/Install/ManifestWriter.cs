using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ZImage.Engine.Models.Install.Graphs;

namespace ZImage.Engine.Models.Install;

/// <summary>
/// Writes zimage.json (docs/model-format.md) in the layout the Python export used (json.dumps, indent 2, keys in
/// the documented order, Python's float spelling), so a converted folder's manifest differs from an exported one
/// only where the facts differ (time, source, checks).
/// </summary>
internal static class ManifestWriter
{
    public const string ToolName = "ZImage.Engine installer";
    public const string ToolVersion = "1.0.0";
    public const int FormatVersion = 1;
    public const string AttentionOp = "com.microsoft.MultiHeadAttention";
    public const string TemplatePrefix = "<|im_start|>user\n";
    public const string TemplateSuffix = "<|im_end|>\n<|im_start|>assistant\n";

    /// <summary>What the manifest says about where the weights came from.</summary>
    public sealed record Origin(string ModelName, bool RandomWeights, string Source, DateTime CreatedUtc);

    /// <summary>The manifest's tokenizer entry; copies tokenizer.json and tokenizer_config.json into the folder.</summary>
    public static Json.Obj Tokenizer(string folder, string tokenizerJson, string? tokenizerConfig)
    {
        var dir = Path.Combine(folder, "tokenizer");
        Directory.CreateDirectory(dir);
        File.Copy(tokenizerJson, Path.Combine(dir, "tokenizer.json"));
        var entry = new Json.Obj
        {
            ["file"] = "tokenizer/tokenizer.json",
            ["kind"] = "hf-tokenizers byte-level BPE (Qwen3)",
            ["sha256"] = Sha256(tokenizerJson),
            ["max_tokens"] = 512,
            ["truncation"] = "keep the first max_tokens ids of the templated prompt",
            ["template_prefix"] = TemplatePrefix,
            ["template_suffix"] = TemplateSuffix,
            ["add_bos"] = false,
            ["pad_token_id"] = 151643,
            ["im_start_token_id"] = 151644,
            ["im_end_token_id"] = 151645,
            ["placed_by_build"] = false,
        };
        if (tokenizerConfig is not null && File.Exists(tokenizerConfig))
        {
            File.Copy(tokenizerConfig, Path.Combine(dir, "tokenizer_config.json"));
            entry["config_file"] = "tokenizer/tokenizer_config.json";
        }
        return entry;
    }

    public static string Write(string folder, Architecture arch, WeightDtype dtype, WeightDtype vaeDtype, float overflowScale, Origin origin,
        Json.Obj tokenizer, IReadOnlyDictionary<string, long> parameters)
    {
        var (t, d, v) = (arch.TextEncoder, arch.Transformer, arch.Vae);
        Json.Obj Files(string part) => new()
        {
            ["model"] = $"{part}/model.onnx",
            ["external_data"] = $"{part}/model.onnx.data",
            ["model_bytes"] = new FileInfo(Path.Combine(folder, part, "model.onnx")).Length,
            ["external_data_bytes"] = new FileInfo(Path.Combine(folder, part, "model.onnx.data")).Length,
        };
        static Json.Obj Io(string name, string dtype, params object[] shape) => new() { [name] = new Json.Obj { ["dtype"] = dtype, ["shape"] = shape.ToList() } };

        var te = Files("text_encoder");
        te["inputs"] = Io("input_ids", "int64", 1, "sequence");
        te["outputs"] = Io("hidden_states", "float32", 1, "sequence", t.HiddenSize);
        te["vocab_size"] = t.VocabSize;
        te["hidden_size"] = t.HiddenSize;
        te["layers_total"] = t.NumHiddenLayers;
        te["layers_exported"] = t.ExportedLayers;
        te["num_attention_heads"] = t.NumAttentionHeads;
        te["num_key_value_heads"] = t.NumKeyValueHeads;
        te["head_dim"] = t.HeadDim;
        te["intermediate_size"] = t.IntermediateSize;
        te["rms_norm_eps"] = t.RmsNormEps;
        te["rope_theta"] = t.RopeTheta;
        te["parameters"] = parameters["text_encoder"];

        var dit = Files("transformer");
        dit["inputs"] = new Json.Obj
        {
            ["latent"] = new Json.Obj { ["dtype"] = "float32", ["shape"] = new List<object> { 1, d.InChannels, "latent_height", "latent_width" } },
            ["timestep"] = new Json.Obj { ["dtype"] = "float32", ["shape"] = new List<object> { 1 } },
            ["caption"] = new Json.Obj { ["dtype"] = "float32", ["shape"] = new List<object> { "caption_length", d.CapFeatDim } },
        };
        dit["outputs"] = Io("model_out", "float32", 1, d.InChannels, "latent_height", "latent_width");
        dit["output_meaning"] = "negated velocity: velocity = -model_out";
        dit["in_channels"] = d.InChannels;
        dit["patch_size"] = d.PatchSize;
        dit["dim"] = d.Dim;
        dit["n_layers"] = d.NLayers;
        dit["n_refiner_layers"] = d.NRefinerLayers;
        dit["n_heads"] = d.NHeads;
        dit["head_dim"] = d.HeadDim;
        dit["ffn_hidden"] = d.FfnHidden;
        dit["caption_dim"] = d.CapFeatDim;
        dit["norm_eps"] = d.NormEps;
        dit["t_scale"] = d.TScale;
        dit["seq_multiple"] = TransformerArch.SeqMultiOf;
        dit["rope_theta"] = d.RopeTheta;
        dit["rope_axes_dims"] = d.AxesDims.Cast<object>().ToList();
        dit["rope_axes_lens"] = d.AxesLens.Cast<object>().ToList();
        dit["max_latent_side"] = 2 * d.AxesLens[1];
        dit["parameters"] = parameters["transformer"];

        var vae = Files("vae_decoder");
        vae["inputs"] = Io("latent", "float32", 1, v.LatentChannels, "latent_height", "latent_width");
        vae["outputs"] = Io("image", "float32", 1, v.OutChannels, "image_height", "image_width");
        vae["scaling_in_graph"] = true;
        vae["scaling_factor"] = v.ScalingFactor;
        vae["shift_factor"] = v.ShiftFactor;
        vae["latent_channels"] = v.LatentChannels;
        vae["scale_factor"] = v.ScaleFactor;
        vae["block_out_channels"] = v.BlockOutChannels.Cast<object>().ToList();
        vae["output_range"] = "[-1, 1], not clamped";
        vae["parameters"] = parameters["vae_decoder"];

        var manifest = new Json.Obj
        {
            ["format"] = "zimage-onnx",
            ["format_version"] = FormatVersion,
            ["model_name"] = origin.ModelName,
            ["random_weights"] = origin.RandomWeights,
            ["export"] = new Json.Obj
            {
                ["tool"] = ToolName,
                ["tool_version"] = ToolVersion,
                ["created_utc"] = origin.CreatedUtc.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["source"] = origin.Source,
                ["onnx_opset"] = OnnxGraph.Opset,
                ["onnx_domains"] = new List<object> { "ai.onnx", OnnxGraph.MsDomain },
                ["attention_op"] = AttentionOp,
                ["checks"] = new List<object>(),
            },
            ["dtypes"] = new Json.Obj
            {
                ["text_encoder"] = WeightCodec.Name(dtype),
                ["transformer"] = WeightCodec.Name(dtype),
                ["vae_decoder"] = WeightCodec.Name(vaeDtype),
                ["io"] = "float32",
                ["fp16_overflow_scale"] = (double)overflowScale,
            },
            ["tokenizer"] = tokenizer,
            ["text_encoder"] = te,
            ["transformer"] = dit,
            ["vae_decoder"] = vae,
            ["sampler"] = new Json.Obj
            {
                ["type"] = "flow_match_euler",
                ["shift"] = arch.SchedulerShift,
                ["dynamic_shifting"] = false,
                ["num_train_timesteps"] = 1000,
                ["default_steps"] = 8,
                ["default_guidance"] = 0.0,
            },
            ["image"] = new Json.Obj
            {
                ["size_multiple"] = v.ScaleFactor * d.PatchSize,
                ["latent_channels"] = v.LatentChannels,
                ["vae_scale_factor"] = v.ScaleFactor,
            },
            ["architecture"] = new Json.Obj
            {
                ["text_encoder"] = new Json.Obj
                {
                    ["vocab_size"] = t.VocabSize,
                    ["hidden_size"] = t.HiddenSize,
                    ["num_hidden_layers"] = t.NumHiddenLayers,
                    ["num_attention_heads"] = t.NumAttentionHeads,
                    ["num_key_value_heads"] = t.NumKeyValueHeads,
                    ["head_dim"] = t.HeadDim,
                    ["intermediate_size"] = t.IntermediateSize,
                    ["rms_norm_eps"] = t.RmsNormEps,
                    ["rope_theta"] = t.RopeTheta,
                },
                ["transformer"] = new Json.Obj
                {
                    ["in_channels"] = d.InChannels,
                    ["patch_size"] = d.PatchSize,
                    ["dim"] = d.Dim,
                    ["n_layers"] = d.NLayers,
                    ["n_refiner_layers"] = d.NRefinerLayers,
                    ["n_heads"] = d.NHeads,
                    ["n_kv_heads"] = d.NKvHeads,
                    ["norm_eps"] = d.NormEps,
                    ["qk_norm"] = d.QkNorm,
                    ["cap_feat_dim"] = d.CapFeatDim,
                    ["rope_theta"] = d.RopeTheta,
                    ["t_scale"] = d.TScale,
                    ["axes_dims"] = d.AxesDims.Cast<object>().ToList(),
                    ["axes_lens"] = d.AxesLens.Cast<object>().ToList(),
                },
                ["vae"] = new Json.Obj
                {
                    ["latent_channels"] = v.LatentChannels,
                    ["out_channels"] = v.OutChannels,
                    ["block_out_channels"] = v.BlockOutChannels.Cast<object>().ToList(),
                    ["layers_per_block"] = v.LayersPerBlock,
                    ["norm_num_groups"] = v.NormNumGroups,
                    ["scaling_factor"] = v.ScalingFactor,
                    ["shift_factor"] = v.ShiftFactor,
                    ["use_post_quant_conv"] = v.UsePostQuantConv,
                },
                ["scheduler_shift"] = arch.SchedulerShift,
            },
        };
        var path = Path.Combine(folder, "zimage.json");
        File.WriteAllText(path, Json.Dump(manifest) + "\n", new UTF8Encoding(false));
        return path;
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>JSON as Python's json.dumps(indent=2, ensure_ascii=False) spells it.</summary>
    public static class Json
    {
        /// <summary>An object whose keys keep their insertion order.</summary>
        public sealed class Obj : List<KeyValuePair<string, object?>>
        {
            public object? this[string key]
            {
                get => Find(key) is var i and >= 0 ? base[i].Value : null;
                set
                {
                    var i = Find(key);
                    if (i >= 0) base[i] = new(key, value);
                    else Add(new(key, value));
                }
            }

            private int Find(string key) => FindIndex(p => p.Key == key);
        }

        public static string Dump(object? value)
        {
            var sb = new StringBuilder();
            Write(sb, value, 0);
            return sb.ToString();
        }

        private static void Write(StringBuilder sb, object? value, int depth)
        {
            switch (value)
            {
                case null: sb.Append("null"); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case string s: WriteString(sb, s); break;
                case int or long: sb.Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)); break;
                case double d: sb.Append(PythonFloat(d)); break;
                case float f: sb.Append(PythonFloat(f)); break;
                case Obj o:
                    if (o.Count == 0) { sb.Append("{}"); break; }
                    sb.Append('{');
                    for (var i = 0; i < o.Count; i++)
                    {
                        sb.Append(i == 0 ? "\n" : ",\n").Append(' ', 2 * (depth + 1));
                        WriteString(sb, o[i].Key);
                        sb.Append(": ");
                        Write(sb, o[i].Value, depth + 1);
                    }
                    sb.Append('\n').Append(' ', 2 * depth).Append('}');
                    break;
                case System.Collections.IList list:
                    if (list.Count == 0) { sb.Append("[]"); break; }
                    sb.Append('[');
                    for (var i = 0; i < list.Count; i++)
                    {
                        sb.Append(i == 0 ? "\n" : ",\n").Append(' ', 2 * (depth + 1));
                        Write(sb, list[i], depth + 1);
                    }
                    sb.Append('\n').Append(' ', 2 * depth).Append(']');
                    break;
                default: throw new ArgumentException($"cannot write {value.GetType().Name} as JSON");
            }
        }

        private static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        /// <summary>Python's repr of a float: shortest round-trip digits, fixed notation for 1e-4 ≤ |x| &lt; 1e16 with ".0" when whole, else d.ddde±XX.</summary>
        public static string PythonFloat(double value)
        {
            if (double.IsNaN(value)) return "NaN";
            if (double.IsInfinity(value)) return value > 0 ? "Infinity" : "-Infinity";
            if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";
            var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
            var e = 0;
            var ePos = r.IndexOfAny(['E', 'e']);
            if (ePos >= 0)
            {
                e = int.Parse(r[(ePos + 1)..], CultureInfo.InvariantCulture);
                r = r[..ePos];
            }
            var point = r.IndexOf('.');
            var digits = point < 0 ? r : r.Remove(point, 1);
            var decpt = (point < 0 ? r.Length : point) + e;
            var leading = digits.Length - digits.TrimStart('0').Length;
            digits = digits.TrimStart('0');
            decpt -= leading;
            digits = digits.TrimEnd('0');
            if (digits.Length == 0) digits = "0";
            string text;
            if (decpt <= -4 || decpt > 16)
            {
                var exponent = decpt - 1;
                text = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
            }
            else if (decpt <= 0)
                text = "0." + new string('0', -decpt) + digits;
            else if (decpt >= digits.Length)
                text = digits + new string('0', decpt - digits.Length) + ".0";
            else
                text = digits[..decpt] + "." + digits[decpt..];
            return value < 0 ? "-" + text : text;
        }
    }
}
