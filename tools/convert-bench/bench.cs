#:project ../../ZImage.Engine/ZImage.Engine.csproj
#:property TreatWarningsAsErrors=true
#:property PublishAot=false
// Converter benchmark: seconds per GB and peak memory of the C# model installer on a synthetic checkpoint with the
// real Z-Image-Turbo widths (hidden 2560/3840, full vocabulary, full VAE) but few layers, in bf16 as published.
//
//   dotnet build tools/convert-bench/bench.cs -o /tmp/convert-bench        (once)
//   dotnet /tmp/convert-bench/bench.dll make DIR [te_layers] [dit_layers] [tokenizer.json]
//        writes the checkpoint (default 3 text-encoder and 4 transformer layers; 36 and 30 give the full-size model)
//   /usr/bin/time -v dotnet /tmp/convert-bench/bench.dll convert DIR OUT [fp16|bf16|fp32] [fp32|fp16 VAE]
//
// The checkpoint's values are uniform noise of the usual scales (|w| well inside fp16); only sizes matter here.
// With a real tokenizer.json the converted full-size folder is also the random-weight model for GPU benchmarks.
using System.Diagnostics;
using System.Text.Json;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Checkpoint;

if (args.Length >= 2 && args[0] == "make")
{
    Make(args[1], args.Length > 2 ? int.Parse(args[2]) : 3, args.Length > 3 ? int.Parse(args[3]) : 4, args.Length > 4 ? args[4] : null);
    return 0;
}
if (args.Length >= 3 && args[0] == "convert")
{
    var dtype = args.Length > 3 ? Enum.Parse<WeightDtype>(args[3], ignoreCase: true) : WeightDtype.Fp16;
    var converter = new CheckpointConverter();
    var vaeDtype = args.Length > 4 ? Enum.Parse<WeightDtype>(args[4], ignoreCase: true) : WeightDtype.Fp32;
    var options = new ConvertOptions(dtype, vaeDtype);
    var input = Directory.GetFiles(args[1], "*.safetensors", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    var clock = Stopwatch.StartNew();
    await converter.ConvertAsync(args[1], args[2], options, null, CancellationToken.None);
    var seconds = clock.Elapsed.TotalSeconds;
    var output = Directory.GetFiles(args[2], "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    using var self = Process.GetCurrentProcess();
    Console.WriteLine($"converted {input / 1e9:F2} GB of bf16 safetensors into {output / 1e9:F2} GB ({dtype}, VAE {vaeDtype}) in {seconds:F1} s");
    Console.WriteLine($"  {seconds / (input / 1e9):F2} s per GB read, {input / 1e6 / seconds:F0} MB/s read, {output / 1e6 / seconds:F0} MB/s written");
    Console.WriteLine($"  peak working set {self.PeakWorkingSet64 / 1e6:F0} MB, managed heap now {GC.GetTotalMemory(false) / 1e6:F0} MB");
    return 0;
}
Console.Error.WriteLine("usage: bench make DIR [te_layers] [dit_layers] [tokenizer.json] | bench convert DIR OUT [fp16|bf16|fp32] [fp32|fp16]");
return 2;

static void Make(string dir, int teLayers, int ditLayers, string? tokenizer)
{
    Directory.CreateDirectory(dir);
    foreach (var sub in new[] { "transformer", "text_encoder", "vae", "tokenizer", "scheduler" })
        Directory.CreateDirectory(Path.Combine(dir, sub));
    void Json(string path, object value) => File.WriteAllText(Path.Combine(dir, path), JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));

    const int H = 2560, Heads = 32, KvHeads = 8, HeadDim = 128, Ffn = 9728, Vocab = 151936;
    Json("text_encoder/config.json", new Dictionary<string, object>
    {
        ["architectures"] = new[] { "Qwen3ForCausalLM" }, ["hidden_act"] = "silu", ["vocab_size"] = Vocab, ["hidden_size"] = H,
        ["num_hidden_layers"] = teLayers, ["num_attention_heads"] = Heads, ["num_key_value_heads"] = KvHeads, ["head_dim"] = HeadDim,
        ["intermediate_size"] = Ffn, ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 1000000.0,
    });
    var te = new List<(string, long[])> { ("model.embed_tokens.weight", [Vocab, H]), ("model.norm.weight", [H]) };
    for (var i = 0; i < teLayers; i++)
    {
        var p = $"model.layers.{i}.";
        te.AddRange([(p + "input_layernorm.weight", [H]), (p + "post_attention_layernorm.weight", [H]),
            (p + "self_attn.q_proj.weight", [Heads * HeadDim, H]), (p + "self_attn.k_proj.weight", [KvHeads * HeadDim, H]),
            (p + "self_attn.v_proj.weight", [KvHeads * HeadDim, H]), (p + "self_attn.o_proj.weight", [H, Heads * HeadDim]),
            (p + "self_attn.q_norm.weight", [HeadDim]), (p + "self_attn.k_norm.weight", [HeadDim]),
            (p + "mlp.gate_proj.weight", [Ffn, H]), (p + "mlp.up_proj.weight", [Ffn, H]), (p + "mlp.down_proj.weight", [H, Ffn])]);
    }
    WriteSharded(Path.Combine(dir, "text_encoder"), "model", te);

    const int D = 3840, F = 10240, Adaln = 256;
    Json("transformer/config.json", new Dictionary<string, object>
    {
        ["_class_name"] = "ZImageTransformer2DModel", ["all_patch_size"] = new[] { 2 }, ["all_f_patch_size"] = new[] { 1 }, ["in_channels"] = 16,
        ["dim"] = D, ["n_layers"] = ditLayers, ["n_refiner_layers"] = 1, ["n_heads"] = 30, ["n_kv_heads"] = 30, ["norm_eps"] = 1e-5,
        ["qk_norm"] = true, ["cap_feat_dim"] = H, ["rope_theta"] = 256.0, ["t_scale"] = 1000.0,
        ["axes_dims"] = new[] { 32, 48, 48 }, ["axes_lens"] = new[] { 1536, 512, 512 },
    });
    var dit = new List<(string, long[])>
    {
        ("all_x_embedder.2-1.weight", [D, 64]), ("all_x_embedder.2-1.bias", [D]), ("all_final_layer.2-1.linear.weight", [64, D]),
        ("all_final_layer.2-1.linear.bias", [64]), ("all_final_layer.2-1.adaLN_modulation.1.weight", [D, Adaln]),
        ("all_final_layer.2-1.adaLN_modulation.1.bias", [D]), ("t_embedder.mlp.0.weight", [1024, 256]), ("t_embedder.mlp.0.bias", [1024]),
        ("t_embedder.mlp.2.weight", [Adaln, 1024]), ("t_embedder.mlp.2.bias", [Adaln]), ("cap_embedder.0.weight", [H]),
        ("cap_embedder.1.weight", [D, H]), ("cap_embedder.1.bias", [D]), ("x_pad_token", [1, D]), ("cap_pad_token", [1, D]),
    };
    void Block(string p, bool modulated)
    {
        dit.AddRange([(p + "attention.to_q.weight", [D, D]), (p + "attention.to_k.weight", [D, D]), (p + "attention.to_v.weight", [D, D]),
            (p + "attention.to_out.0.weight", [D, D]), (p + "attention.norm_q.weight", [128]), (p + "attention.norm_k.weight", [128]),
            (p + "feed_forward.w1.weight", [F, D]), (p + "feed_forward.w2.weight", [D, F]), (p + "feed_forward.w3.weight", [F, D]),
            (p + "attention_norm1.weight", [D]), (p + "ffn_norm1.weight", [D]), (p + "attention_norm2.weight", [D]), (p + "ffn_norm2.weight", [D])]);
        if (modulated)
            dit.AddRange([(p + "adaLN_modulation.0.weight", [4 * D, Adaln]), (p + "adaLN_modulation.0.bias", [4 * D])]);
    }
    Block("noise_refiner.0.", true);
    Block("context_refiner.0.", false);
    for (var i = 0; i < ditLayers; i++)
        Block($"layers.{i}.", true);
    WriteSharded(Path.Combine(dir, "transformer"), "diffusion_pytorch_model", dit);

    Json("vae/config.json", new Dictionary<string, object>
    {
        ["_class_name"] = "AutoencoderKL", ["latent_channels"] = 16, ["out_channels"] = 3, ["block_out_channels"] = new[] { 128, 256, 512, 512 },
        ["layers_per_block"] = 2, ["norm_num_groups"] = 32, ["scaling_factor"] = 0.3611, ["shift_factor"] = 0.1159, ["use_post_quant_conv"] = false,
        ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", 4).ToArray(),
    });
    var vae = new List<(string, long[])>();
    void Conv(string n, long cin, long cout, long k) { vae.Add((n + ".weight", [cout, cin, k, k])); vae.Add((n + ".bias", [cout])); }
    void Norm(string n, long c) { vae.Add((n + ".weight", [c])); vae.Add((n + ".bias", [c])); }
    void Resnet(string n, long cin, long cout)
    {
        Norm(n + ".norm1", cin); Conv(n + ".conv1", cin, cout, 3); Norm(n + ".norm2", cout); Conv(n + ".conv2", cout, cout, 3);
        if (cin != cout) Conv(n + ".conv_shortcut", cin, cout, 1);
    }
    Conv("decoder.conv_in", 16, 512, 3);
    Resnet("decoder.mid_block.resnets.0", 512, 512);
    Norm("decoder.mid_block.attentions.0.group_norm", 512);
    foreach (var p in new[] { "to_q", "to_k", "to_v", "to_out.0" })
    {
        vae.Add(($"decoder.mid_block.attentions.0.{p}.weight", [512, 512]));
        vae.Add(($"decoder.mid_block.attentions.0.{p}.bias", [512]));
    }
    Resnet("decoder.mid_block.resnets.1", 512, 512);
    long[] rev = [512, 512, 256, 128];
    var cout = rev[0];
    for (var i = 0; i < 4; i++)
    {
        var cin = cout;
        cout = rev[i];
        for (var j = 0; j < 3; j++)
            Resnet($"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? cin : cout, cout);
        if (i != 3)
            Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", cout, cout, 3);
    }
    Norm("decoder.conv_norm_out", 128);
    Conv("decoder.conv_out", 128, 3, 3);
    SafetensorsWriter.Write(Path.Combine(dir, "vae", "diffusion_pytorch_model.safetensors"), vae.Select(t => Tensor(t.Item1, t.Item2)));

    Json("scheduler/scheduler_config.json", new Dictionary<string, object> { ["_class_name"] = "FlowMatchEulerDiscreteScheduler", ["shift"] = 3.0 });
    Json("model_index.json", new Dictionary<string, object> { ["_class_name"] = "ZImagePipeline", ["_zimage_model_name"] = "Z-Image-Turbo architecture, random weights", ["_zimage_random_weights"] = true });
    if (tokenizer is not null)
        File.Copy(tokenizer, Path.Combine(dir, "tokenizer", "tokenizer.json"), overwrite: true);
    else
        File.WriteAllText(Path.Combine(dir, "tokenizer", "tokenizer.json"), "{}"); // the converter copies it; its content is not read
    Console.WriteLine($"wrote {Directory.GetFiles(dir, "*.safetensors", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1e9:F2} GB under {dir}");
}

static SafetensorsTensor Tensor(string name, long[] shape)
{
    var leaf = name[(name.LastIndexOf('.') + 1)..];
    var norm = name.Contains("norm") && leaf == "weight";
    var scale = shape.Length > 1 ? (float)(1.0 / Math.Sqrt(shape.Skip(1).Aggregate(1L, (a, b) => a * b))) : 0.1f;
    var seed = (uint)name.GetHashCode(StringComparison.Ordinal);
    return new SafetensorsTensor(name, "BF16", shape, (start, destination) =>
    {
        var state = seed ^ (uint)start * 2654435761u;
        for (var i = 0; i < destination.Length; i++)
        {
            state = state * 1664525u + 1013904223u; // LCG: fast, and the values do not matter here
            destination[i] = (norm ? 1f : 0f) + ((state >> 8) * (1f / (1 << 24)) - 0.5f) * 3.4641f * scale;
        }
    });
}

static void WriteSharded(string dir, string stem, List<(string Name, long[] Shape)> tensors)
{
    const long ShardBytes = 1L << 30; // 1 GB shards, so the sharded path runs
    var shards = new List<List<(string Name, long[] Shape)>> { new() };
    long size = 0, total = 0;
    foreach (var t in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
    {
        var bytes = t.Shape.Aggregate(1L, (a, b) => a * b) * 2;
        if (size + bytes > ShardBytes && shards[^1].Count > 0) { shards.Add([]); size = 0; }
        shards[^1].Add(t);
        size += bytes;
        total += bytes;
    }
    var map = new Dictionary<string, string>();
    for (var s = 0; s < shards.Count; s++)
    {
        var file = $"{stem}-{s + 1:00000}-of-{shards.Count:00000}.safetensors";
        SafetensorsWriter.Write(Path.Combine(dir, file), shards[s].Select(t => Tensor(t.Name, t.Shape)));
        foreach (var t in shards[s]) map[t.Name] = file;
    }
    SafetensorsWriter.WriteIndex(Path.Combine(dir, $"{stem}.safetensors.index.json"), map, total);
}
