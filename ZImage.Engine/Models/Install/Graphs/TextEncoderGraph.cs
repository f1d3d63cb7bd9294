using ZImage.Engine.Models.Install.Checkpoint;
using static ZImage.Engine.Models.Install.Graphs.Ops;

namespace ZImage.Engine.Models.Install.Graphs;

/// <summary>
/// Qwen3 text encoder graph: input_ids [1, L] → hidden_states [1, L, hidden], the output of decoder layer
/// num_hidden_layers-2 (0-based) before the final norm, i.e. transformers' hidden_states[-2]. Batch 1, no padding:
/// causal attention over the L real tokens gives exactly the rows the reference keeps when it pads to 512 and drops
/// the padded rows with the attention mask.
/// </summary>
internal static class TextEncoderGraph
{
    // Additive causal bias. Large enough to zero exp() after the max subtraction, small enough for fp16.
    private const float MaskValue = -30000f;

    /// <summary>transformers: 1 / base ** (arange(0, dim, 2, int64).float() / dim), all float32.</summary>
    public static float[] RopeInvFreq(TextEncoderArch arch)
    {
        var inv = new float[arch.HeadDim / 2];
        for (var i = 0; i < inv.Length; i++)
        {
            var exponent = (float)(2 * i) / (float)arch.HeadDim;
            inv[i] = 1f / MathF.Pow((float)arch.RopeTheta, exponent);
        }
        return inv;
    }

    /// <param name="overflowScale">
    /// 64 for fp16, else 1: o_proj and up_proj weights are divided by it and the layer outputs multiplied back in
    /// float32 before the residual add, so fp16 intermediates stay in range.
    /// </param>
    public static void Build(OnnxGraph g, TextEncoderArch arch, CheckpointPart src, WeightDtype dtype, float overflowScale)
    {
        var o = new Ops(g, dtype);
        int h = arch.HiddenSize, hd = arch.HeadDim, nq = arch.NumAttentionHeads, nkv = arch.NumKeyValueHeads;
        var rep = nq / nkv;

        var ids = g.Input("input_ids", ElemInt64, 1, "sequence");
        var emb = g.Weight("embed_tokens.weight", src.Get("embed_tokens.weight"), dtype);
        var x = o.ToF32(g.Op("Gather", [emb, ids], attributes: A("axis", 0L))); // [1, L, h] float32 residual stream

        // RoPE tables for positions 0..L-1, float32: cos/sin of pos * inv_freq, duplicated over both halves.
        var l = o.ShapeDim(ids, 1);
        var pos = g.Op("Cast", [g.Op("Range", [g.Scalar(0), g.Op("Squeeze", [l, g.Ints(0)]), g.Scalar(1)])], attributes: A("to", (long)ElemFloat));
        var inv = RopeInvFreq(arch);
        var freqs = g.Op("Mul", [g.Op("Unsqueeze", [pos, g.Ints(1)]), g.Const(inv, [1, inv.Length])]);
        var ang = g.Op("Concat", [freqs, freqs], attributes: A("axis", -1L)); // [L, hd]
        var shp = g.Ints(1, -1, 1, hd);
        var cos = g.Op("Reshape", [g.Op("Cos", [ang]), shp]);
        var sin = g.Op("Reshape", [g.Op("Sin", [ang]), shp]);

        // Causal additive bias [1, nq, L, L] in the compute type.
        var rng = g.Op("Range", [g.Scalar(0), g.Op("Squeeze", [l, g.Ints(0)]), g.Scalar(1)]);
        var rows = g.Op("Unsqueeze", [rng, g.Ints(1)]);
        var cols = g.Op("Unsqueeze", [rng, g.Ints(0)]);
        var future = g.Op("Greater", [cols, rows]);
        var bias = g.Op("Where", [future, g.Const(MaskValue, dtype), g.Const(0f, dtype)]);
        var biasShape = g.Op("Concat", [g.Ints(1, nq), l, l], attributes: A("axis", 0L));
        bias = g.Op("Expand", [bias, biasShape]);

        string Rope(string t, int heads)
        {
            // rotate_half: [x1, x2] -> [-x2, x1] on the two halves of each head
            var t4 = g.Op("Reshape", [t, g.Ints(0, 0, heads, hd)]);
            var halves = g.Op("Split", [t4], 2, attributes: A("axis", -1L));
            var rot = g.Op("Concat", [g.Op("Neg", [halves[1]]), halves[0]], attributes: A("axis", -1L));
            return g.Op("Add", [g.Op("Mul", [t4, cos]), g.Op("Mul", [rot, sin])]);
        }

        var s = overflowScale;
        var eps = arch.RmsNormEps;
        for (var i = 0; i < arch.ExportedLayers; i++)
        {
            var p = $"layers.{i}.";
            var hn = o.ToCompute(o.RmsNorm(x, p + "input_layernorm", src.Get(p + "input_layernorm.weight"), eps));
            var q = o.Linear(hn, p + "self_attn.q_proj", src.Get(p + "self_attn.q_proj.weight"), weightDtype: dtype);
            var k = o.Linear(hn, p + "self_attn.k_proj", src.Get(p + "self_attn.k_proj.weight"), weightDtype: dtype);
            var v = o.Linear(hn, p + "self_attn.v_proj", src.Get(p + "self_attn.v_proj.weight"), weightDtype: dtype);
            q = g.Op("Reshape", [o.ToF32(q), g.Ints(0, 0, nq, hd)]);
            k = g.Op("Reshape", [o.ToF32(k), g.Ints(0, 0, nkv, hd)]);
            q = o.RmsNorm(q, p + "self_attn.q_norm", src.Get(p + "self_attn.q_norm.weight"), eps);
            k = o.RmsNorm(k, p + "self_attn.k_norm", src.Get(p + "self_attn.k_norm.weight"), eps);
            q = Rope(q, nq);
            k = Rope(k, nkv);
            if (rep > 1)
            {
                // query head j reads kv head j // rep, as transformers' repeat_kv
                k = g.Op("Expand", [g.Op("Unsqueeze", [k, g.Ints(3)]),
                    g.Op("Concat", [g.Ints(1), l, g.Ints(nkv, rep, hd)], attributes: A("axis", 0L))]);
                var v5 = g.Op("Reshape", [v, g.Ints(0, 0, nkv, 1, hd)]);
                v = g.Op("Expand", [v5, g.Op("Concat", [g.Ints(1), l, g.Ints(nkv, rep, hd)], attributes: A("axis", 0L))]);
            }
            var flat = g.Ints(0, 0, nq * hd);
            q = g.Op("Reshape", [o.ToCompute(q), flat]);
            k = g.Op("Reshape", [o.ToCompute(k), flat]);
            v = g.Op("Reshape", [v, flat]);
            var a = o.Mha(q, k, v, nq, bias);
            a = o.ToF32(o.Linear(a, p + "self_attn.o_proj", src.Get(p + "self_attn.o_proj.weight"), weightDtype: dtype, scale: 1f / s));
            if (s != 1f)
                a = g.Op("Mul", [a, g.Const(s)]);
            x = g.Op("Add", [x, a]);

            hn = o.ToCompute(o.RmsNorm(x, p + "post_attention_layernorm", src.Get(p + "post_attention_layernorm.weight"), eps));
            var gate = o.Linear(hn, p + "mlp.gate_proj", src.Get(p + "mlp.gate_proj.weight"), weightDtype: dtype);
            var up = o.Linear(hn, p + "mlp.up_proj", src.Get(p + "mlp.up_proj.weight"), weightDtype: dtype, scale: 1f / s);
            var m = g.Op("Mul", [o.Silu(gate), up]);
            m = o.ToF32(o.Linear(m, p + "mlp.down_proj", src.Get(p + "mlp.down_proj.weight"), weightDtype: dtype));
            if (s != 1f)
                m = g.Op("Mul", [m, g.Const(s)]);
            x = g.Op("Add", [x, m]);
        }

        g.Output(x, "hidden_states", ElemFloat, 1, "sequence", h);
    }
}
