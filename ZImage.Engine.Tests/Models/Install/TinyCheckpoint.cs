using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Checkpoint;
using ZImage.Engine.Models.Install.Graphs;
using Json = ZImage.Engine.Models.Install.ManifestWriter.Json;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>
/// The tiny checkpoint in the official Z-Image-Turbo layout, derived from the committed self-test model
/// (models/self-test-tiny) by undoing the export's weight mapping: MatMul weights transposed back to torch's [out, in],
/// pad tokens and group-norm affines reshaped back, everything else as stored (the tiny model is fp32, so no overflow
/// scale to undo). The two tensors the export never reads (the text encoder's last layer and final norm) get
/// deterministic values. Only its sha256 sums are committed (Fixtures/tiny-checkpoint/SHA256SUMS): the weights are the
/// self-test model's, so a second copy would only double the checkout. See the fixture's README for why it is derived.
/// </summary>
internal static class TinyCheckpoint
{
    /// <summary>The sha256 of every file of the checkpoint the golden reference read (sha256sum's format, paths relative to it).</summary>
    public static string RecordedSums => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny-checkpoint", "SHA256SUMS");

    public static string SelfTestModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");

    /// <summary>The checkpoint written to <paramref name="destination"/> with the real tokenizer.json beside its config, ready to convert.</summary>
    public static string WriteWithTokenizer(string destination)
    {
        Derive(SelfTestModelDirectory, destination);
        File.Copy(Path.Combine(SelfTestModelDirectory, "tokenizer", "tokenizer.json"), Path.Combine(destination, "tokenizer", "tokenizer.json"));
        return destination;
    }

    /// <summary>
    /// Rewrites one .safetensors file: <paramref name="edit"/> sees each tensor (name, values) and returns the values
    /// to keep (possibly changed), or null to drop the tensor; every kept tensor is written as <paramref name="dtype"/>.
    /// </summary>
    public static void RewriteTensors(string path, Func<string, float[], float[]?> edit, string dtype = "F32")
    {
        var kept = new List<SafetensorsTensor>();
        using (var file = SafetensorsFile.Open(path))
            foreach (var entry in file.Entries.Values)
            {
                var values = new SafetensorsWeight(file, entry).ToArray();
                if (edit(entry.Name, values) is { } changed)
                    kept.Add(SafetensorsTensor.FromArray(entry.Name, dtype, entry.Shape, changed));
            }
        SafetensorsWriter.Write(path, kept);
    }

    /// <summary>Writes the checkpoint (without tokenizer.json, which is never committed) into <paramref name="outDir"/>.</summary>
    public static void Derive(string modelDir, string outDir)
    {
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "zimage.json"))).RootElement;
        var archJson = manifest.GetProperty("architecture");
        var te = TextEncoderArch.FromConfig(archJson.GetProperty("text_encoder"));
        var dit = TransformerArch.FromConfig(archJson.GetProperty("transformer"));
        var vae = VaeArch.FromConfig(archJson.GetProperty("vae"));
        var shift = archJson.GetProperty("scheduler_shift").GetDouble();

        foreach (var sub in new[] { "transformer", "text_encoder", "vae", "tokenizer", "scheduler" })
            Directory.CreateDirectory(Path.Combine(outDir, sub));

        // Text encoder: every layer plus the final norm, under "model." as a causal-LM checkpoint saves them.
        var teTensors = Recover(Path.Combine(modelDir, "text_encoder"), te.Shapes());
        var unused = te.LayerShapes(te.NumHiddenLayers - 1).Append(("norm.weight", new long[] { te.HiddenSize }));
        teTensors.AddRange(unused.Select(u => (u.Item1, u.Item2, Deterministic(u.Item1, u.Item2))));
        WriteSharded(Path.Combine(outDir, "text_encoder"), "model", 2, teTensors.Select(t => ("model." + t.Name, t.Shape, t.Values)).ToList());
        WriteJson(Path.Combine(outDir, "text_encoder", "config.json"), TextEncoderConfig(te));

        WriteSharded(Path.Combine(outDir, "transformer"), "diffusion_pytorch_model", 2, Recover(Path.Combine(modelDir, "transformer"), dit.Shapes()));
        WriteJson(Path.Combine(outDir, "transformer", "config.json"), TransformerConfig(dit));

        var vaeTensors = Recover(Path.Combine(modelDir, "vae_decoder"), vae.Shapes());
        SafetensorsWriter.Write(Path.Combine(outDir, "vae", "diffusion_pytorch_model.safetensors"),
            vaeTensors.Select(t => SafetensorsTensor.FromArray(t.Name, "F32", t.Shape, t.Values)));
        WriteJson(Path.Combine(outDir, "vae", "config.json"), VaeConfig(vae));

        WriteJson(Path.Combine(outDir, "scheduler", "scheduler_config.json"), new Json.Obj
        {
            ["_class_name"] = "FlowMatchEulerDiscreteScheduler",
            ["num_train_timesteps"] = 1000,
            ["shift"] = shift,
            ["use_dynamic_shifting"] = false,
        });
        WriteJson(Path.Combine(outDir, "model_index.json"), new Json.Obj
        {
            ["_class_name"] = "ZImagePipeline",
            ["_diffusers_version"] = "0.36.0.dev0",
            ["_zimage_model_name"] = manifest.GetProperty("model_name").GetString(),
            ["_zimage_random_weights"] = true,
            ["scheduler"] = new List<object> { "diffusers", "FlowMatchEulerDiscreteScheduler" },
            ["text_encoder"] = new List<object> { "transformers", "Qwen3Model" },
            ["tokenizer"] = new List<object> { "transformers", "Qwen2Tokenizer" },
            ["transformer"] = new List<object> { "diffusers", "ZImageTransformer2DModel" },
            ["vae"] = new List<object> { "diffusers", "AutoencoderKL" },
        });
        File.Copy(Path.Combine(modelDir, "tokenizer", "tokenizer_config.json"), Path.Combine(outDir, "tokenizer", "tokenizer_config.json"), overwrite: true);
    }

    /// <summary>Undoes the export's mapping for every expected tensor of one part.</summary>
    private static List<(string Name, long[] Shape, float[] Values)> Recover(string partDir, IReadOnlyList<(string Name, long[] Shape)> expected)
    {
        var graph = OnnxFileReader.Read(Path.Combine(partDir, "model.onnx"));
        var matmulWeights = graph.Nodes.Where(n => n.OpType == "MatMul").Select(n => n.Inputs[1]).ToHashSet();
        var byName = graph.Initializers.ToDictionary(i => i.Name);
        var result = new List<(string, long[], float[])>();
        foreach (var (name, shape) in expected)
        {
            var init = byName[name];
            var values = OnnxFileReader.Floats(init, Path.Combine(partDir, "model.onnx.data"));
            if (matmulWeights.Contains(name))
            {
                // stored as w.T [in, out]; torch keeps [out, in]
                Assert.Equal([shape[1], shape[0]], init.Dims);
                values = Transpose(values, (int)init.Dims[0], (int)init.Dims[1]);
            }
            else
                Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), values.Length); // reshaped only ([1,1,d] pad tokens, [c,1,1] group-norm affines)
            result.Add((name, shape, values));
        }
        return result;
    }

    private static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
                t[c * rows + r] = m[r * cols + c];
        return t;
    }

    /// <summary>Deterministic stand-ins for tensors no graph reads: norms near 1, matrices ~ 1/sqrt(fan_in).</summary>
    private static float[] Deterministic(string name, long[] shape)
    {
        var state = 14695981039346656037UL;
        foreach (var ch in name)
            state = (state ^ ch) * 1099511628211UL;
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        var norm = name.Contains("norm", StringComparison.Ordinal);
        var scale = shape.Length > 1 ? 1.0 / Math.Sqrt(shape[1]) : 0.1;
        for (var i = 0; i < count; i++)
        {
            state += 0x9E3779B97F4A7C15UL; // SplitMix64
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var uniform = (z >> 11) * (1.0 / (1UL << 53)) - 0.5;
            values[i] = (float)((norm ? 1.0 : 0.0) + uniform * Math.Sqrt(12) * scale);
        }
        return values;
    }

    private static void WriteSharded(string dir, string stem, int shards, List<(string Name, long[] Shape, float[] Values)> tensors)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var total = ordered.Sum(t => (long)t.Values.Length * 4);
        var map = new Dictionary<string, string>();
        var groups = new List<List<(string Name, long[] Shape, float[] Values)>> { new() };
        long running = 0;
        foreach (var t in ordered)
        {
            if (running >= total * groups.Count / shards && groups.Count < shards && groups[^1].Count > 0)
                groups.Add([]);
            groups[^1].Add(t);
            running += (long)t.Values.Length * 4;
        }
        Assert.Equal(shards, groups.Count);
        for (var s = 0; s < shards; s++)
        {
            var file = $"{stem}-{s + 1:00000}-of-{shards:00000}.safetensors";
            SafetensorsWriter.Write(Path.Combine(dir, file), groups[s].Select(t => SafetensorsTensor.FromArray(t.Name, "F32", t.Shape, t.Values)));
            foreach (var t in groups[s])
                map[t.Name] = file;
        }
        SafetensorsWriter.WriteIndex(Path.Combine(dir, $"{stem}.safetensors.index.json"), map, total);
    }

    private static void WriteJson(string path, Json.Obj value) => File.WriteAllText(path, Json.Dump(value) + "\n");

    private static Json.Obj TextEncoderConfig(TextEncoderArch a) => new()
    {
        ["architectures"] = new List<object> { "Qwen3ForCausalLM" },
        ["model_type"] = "qwen3",
        ["vocab_size"] = a.VocabSize,
        ["hidden_size"] = a.HiddenSize,
        ["num_hidden_layers"] = a.NumHiddenLayers,
        ["num_attention_heads"] = a.NumAttentionHeads,
        ["num_key_value_heads"] = a.NumKeyValueHeads,
        ["head_dim"] = a.HeadDim,
        ["intermediate_size"] = a.IntermediateSize,
        ["rms_norm_eps"] = a.RmsNormEps,
        ["rope_theta"] = a.RopeTheta,
        ["hidden_act"] = "silu",
        ["attention_bias"] = false,
        ["tie_word_embeddings"] = true,
        ["max_position_embeddings"] = 40960,
        ["bos_token_id"] = 151643,
        ["eos_token_id"] = 151645,
    };

    private static Json.Obj TransformerConfig(TransformerArch a) => new()
    {
        ["_class_name"] = "ZImageTransformer2DModel",
        ["all_patch_size"] = new List<object> { 2 },
        ["all_f_patch_size"] = new List<object> { 1 },
        ["in_channels"] = a.InChannels,
        ["dim"] = a.Dim,
        ["n_layers"] = a.NLayers,
        ["n_refiner_layers"] = a.NRefinerLayers,
        ["n_heads"] = a.NHeads,
        ["n_kv_heads"] = a.NKvHeads,
        ["norm_eps"] = a.NormEps,
        ["qk_norm"] = a.QkNorm,
        ["cap_feat_dim"] = a.CapFeatDim,
        ["rope_theta"] = a.RopeTheta,
        ["t_scale"] = a.TScale,
        ["axes_dims"] = a.AxesDims.Cast<object>().ToList(),
        ["axes_lens"] = a.AxesLens.Cast<object>().ToList(),
    };

    private static Json.Obj VaeConfig(VaeArch a) => new()
    {
        ["_class_name"] = "AutoencoderKL",
        ["in_channels"] = 3,
        ["out_channels"] = a.OutChannels,
        ["down_block_types"] = Enumerable.Repeat<object>("DownEncoderBlock2D", a.BlockOutChannels.Length).ToList(),
        ["up_block_types"] = Enumerable.Repeat<object>("UpDecoderBlock2D", a.BlockOutChannels.Length).ToList(),
        ["block_out_channels"] = a.BlockOutChannels.Cast<object>().ToList(),
        ["layers_per_block"] = a.LayersPerBlock,
        ["latent_channels"] = a.LatentChannels,
        ["norm_num_groups"] = a.NormNumGroups,
        ["scaling_factor"] = a.ScalingFactor,
        ["shift_factor"] = a.ShiftFactor,
        ["use_quant_conv"] = false,
        ["use_post_quant_conv"] = a.UsePostQuantConv,
        ["mid_block_add_attention"] = true,
    };
}
