using ZImage.Engine.Models.Install.Checkpoint;
using static ZImage.Engine.Models.Install.Graphs.Ops;

namespace ZImage.Engine.Models.Install.Graphs;

/// <summary>
/// Z-Image S3-DiT graph, batch 1, re-expressed from the official ZImageTransformer2DModel.forward:
/// latent [1, C, h, w], timestep [1] (t = 1 - sigma), caption [Lc, cap_dim] → model_out [1, C, h, w].
/// </summary>
/// <remarks>
/// Inside: patchify (token order row-major over (h/2, w/2), vector order (ph, pw, c)), image and caption tokens
/// each padded to a multiple of 32 with their learned pad token (after the embedders), 3-axis position ids
/// (caption (i+1, 0, 0) for all padded caption rows; image (Lc_pad+1, row, col); image pad (0, 0, 0)), RoPE as
/// real cos/sin arithmetic on interleaved pairs (tables gathered by position id, exactly like the official
/// precomputed freqs_cis), noise refiner on image tokens, context refiner on caption tokens, the main layers over
/// [image, caption], final layer, unpatchify of the real image tokens.
///
/// Precision: the residual stream, every norm, the embedders, adaLN modulations, RoPE and the final layer are
/// float32; only the attention/FFN matmuls and the attention itself run in the weight dtype. For fp16, to_out and
/// w3 weights are divided by the overflow scale (64) and the eps of the RMSNorm that follows each
/// (attention_norm2, ffn_norm2) by its square: RMSNorm(x/64, eps/4096) == RMSNorm(x, eps).
/// </remarks>
internal static class TransformerGraph
{
    /// <summary>
    /// Per axis (cos, sin) of shape [axes_lens[i], axes_dims[i]/2], as RopeEmbedder.precompute_freqs_cis: angles
    /// in float64, rounded to float32, then cos/sin of the float32 angle.
    /// </summary>
    public static (float[] Cos, float[] Sin, long[] Shape)[] RopeTables(TransformerArch arch)
    {
        var tables = new (float[], float[], long[])[arch.AxesDims.Length];
        for (var a = 0; a < tables.Length; a++)
        {
            int d = arch.AxesDims[a], e = arch.AxesLens[a], half = d / 2;
            var freqs = new double[half];
            for (var j = 0; j < half; j++)
                freqs[j] = 1.0 / Math.Pow(arch.RopeTheta, (2.0 * j) / d);
            var cos = new float[e * half];
            var sin = new float[e * half];
            for (var i = 0; i < e; i++)
                for (var j = 0; j < half; j++)
                {
                    double angle = (float)(i * freqs[j]);
                    cos[i * half + j] = (float)Math.Cos(angle);
                    sin[i * half + j] = (float)Math.Sin(angle);
                }
            tables[a] = (cos, sin, [e, half]);
        }
        return tables;
    }

    /// <summary>exp(-ln(max_period) * arange(half) / half), float32 as in TimestepEmbedder.timestep_embedding.</summary>
    public static float[] TimestepFreqs()
    {
        const int Half = TransformerArch.FreqEmbed / 2;
        var factor = (float)-Math.Log(TransformerArch.MaxPeriod);
        var freqs = new float[Half];
        for (var i = 0; i < Half; i++)
            freqs[i] = NumpyExp(factor * i / (float)Half);
        return freqs;
    }

    /// <summary>
    /// float32 exp as numpy computes it on x86 with AVX2/AVX512 (the Python export's graphs hold these values, and
    /// they differ from a correctly rounded expf in the last bit for about a third of the table): k = rint(x·log2 e),
    /// Cody-Waite reduction y = x + k·c1 + k·c2 (fused), a 5th/2nd-order rational polynomial in y, times 2^k.
    /// Only the normal range is needed here (the arguments lie in [-9.3, 0]).
    /// </summary>
    internal static float NumpyExp(float x)
    {
        if (!(x > -87f && x < 88f))
            throw new ArgumentOutOfRangeException(nameof(x), x, "outside the range this exp is used for");
        var log2e = BitConverter.UInt32BitsToSingle(0x3FB8AA3B);
        var c1 = BitConverter.UInt32BitsToSingle(0xBF317200); // -ln 2, high part
        var c2 = BitConverter.UInt32BitsToSingle(0xB5BFBE8E); // -ln 2, low part
        var k = MathF.Round(x * log2e, MidpointRounding.ToEven);
        var y = MathF.FusedMultiplyAdd(k, c1, x);
        y = MathF.FusedMultiplyAdd(k, c2, y);
        var num = MathF.FusedMultiplyAdd(BitConverter.UInt32BitsToSingle(0x3A053DD8), y, BitConverter.UInt32BitsToSingle(0x3BDD7159));
        num = MathF.FusedMultiplyAdd(num, y, BitConverter.UInt32BitsToSingle(0x3D517D8C));
        num = MathF.FusedMultiplyAdd(num, y, BitConverter.UInt32BitsToSingle(0x3E7D4C58));
        num = MathF.FusedMultiplyAdd(num, y, BitConverter.UInt32BitsToSingle(0x3F39CBD5));
        num = MathF.FusedMultiplyAdd(num, y, 1f);
        var den = MathF.FusedMultiplyAdd(BitConverter.UInt32BitsToSingle(0x3CB0E832), y, BitConverter.UInt32BitsToSingle(0xBE8C6857));
        den = MathF.FusedMultiplyAdd(den, y, 1f);
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(num / den) + ((uint)(int)k << 23));
    }

    public static void Build(OnnxGraph g, TransformerArch arch, CheckpointPart src, WeightDtype dtype, float overflowScale)
    {
        var o = new Ops(g, dtype);
        string F32(float v) => g.Const(v);
        int d = arch.Dim, c = arch.InChannels, hd = arch.HeadDim, heads = arch.NHeads;

        var latent = g.Input("latent", ElemFloat, 1, c, "latent_height", "latent_width");
        var timestep = g.Input("timestep", ElemFloat, 1);
        var caption = g.Input("caption", ElemFloat, "caption_length", arch.CapFeatDim);

        // ---- timestep embedding (float32)
        var t = g.Op("Mul", [timestep, F32((float)arch.TScale)]);
        var freqs = TimestepFreqs();
        var args = g.Op("Mul", [g.Op("Unsqueeze", [t, g.Ints(1)]), g.Const(freqs, [1, freqs.Length])]);
        var tf = g.Op("Concat", [g.Op("Cos", [args]), g.Op("Sin", [args])], attributes: A("axis", -1L)); // cos first, then sin
        var te = o.Linear(tf, "t_embedder.mlp.0", src.Get("t_embedder.mlp.0.weight"), src.Get("t_embedder.mlp.0.bias"));
        te = o.Linear(o.Silu(te), "t_embedder.mlp.2", src.Get("t_embedder.mlp.2.weight"), src.Get("t_embedder.mlp.2.bias"));
        var adaln = te; // [1, adaln_dim]

        // ---- patchify: [1, C, h, w] -> [1, N, 4C], N = (h/2)(w/2)
        var h = o.ShapeDim(latent, 2);
        var w = o.ShapeDim(latent, 3);
        var ht = g.Op("Div", [h, g.Ints(2)]);
        var wt = g.Op("Div", [w, g.Ints(2)]);
        var x = g.Op("Reshape", [latent, g.Op("Concat", [g.Ints(c), ht, g.Ints(2), wt, g.Ints(2)], attributes: A("axis", 0L))]);
        x = g.Op("Transpose", [x], attributes: A("perm", new long[] { 1, 3, 2, 4, 0 })); // (ht, wt, ph, pw, c)
        x = g.Op("Reshape", [x, g.Ints(1, -1, arch.PatchDim)]);
        var nImg = g.Op("Mul", [ht, wt]);
        x = o.Linear(x, "all_x_embedder.2-1", src.Get("all_x_embedder.2-1.weight"), src.Get("all_x_embedder.2-1.bias"));

        string PadCount(string n) =>
            g.Op("Mod", [g.Op("Sub", [g.Ints(TransformerArch.SeqMultiOf), g.Op("Mod", [n, g.Ints(TransformerArch.SeqMultiOf)])]), g.Ints(TransformerArch.SeqMultiOf)]);

        string AppendPad(string seq, string name, string count)
        {
            var tok = g.Weight(name, src.Get(name).Reshape(1, 1, d));
            var padRows = g.Op("Expand", [tok, g.Op("Concat", [g.Ints(1), count, g.Ints(d)], attributes: A("axis", 0L))]);
            return g.Op("Concat", [seq, padRows], attributes: A("axis", 1L));
        }

        var padImg = PadCount(nImg);
        x = AppendPad(x, "x_pad_token", padImg);

        // ---- caption embedder: RMSNorm + Linear, float32
        var lc = o.ShapeDim(caption, 0);
        var cap = g.Op("Unsqueeze", [caption, g.Ints(0)]);
        cap = o.RmsNorm(cap, "cap_embedder.0", src.Get("cap_embedder.0.weight"), arch.NormEps);
        cap = o.Linear(cap, "cap_embedder.1", src.Get("cap_embedder.1.weight"), src.Get("cap_embedder.1.bias"));
        var padCap = PadCount(lc);
        cap = AppendPad(cap, "cap_pad_token", padCap);
        var lcPad = g.Op("Add", [lc, padCap]);

        // ---- position ids -> cos/sin [S, head_dim/2]
        string Squeeze(string v) => g.Op("Squeeze", [v, g.Ints(0)]);
        string Arange(string start, string stop) => g.Op("Range", [start, stop, g.Scalar(1)]);

        var zero = g.Scalar(0);
        var idx = Arange(zero, Squeeze(nImg));
        string[] imgIds =
        [
            g.Op("Expand", [g.Op("Add", [lcPad, g.Ints(1)]), nImg]),
            g.Op("Div", [idx, Squeeze(wt)]),
            g.Op("Mod", [idx, Squeeze(wt)]),
        ];
        var zerosPad = g.Op("Expand", [g.Ints(0), padImg]);
        imgIds = imgIds.Select(a => g.Op("Concat", [a, zerosPad], attributes: A("axis", 0L))).ToArray();
        var capFirst = Arange(g.Scalar(1), g.Op("Add", [Squeeze(lcPad), g.Scalar(1)]));
        var zerosCap = g.Op("Expand", [g.Ints(0), lcPad]);
        string[] capIds = [capFirst, zerosCap, zerosCap];

        var tab = RopeTables(arch).Select(tb => (Cos: g.Const(tb.Cos, tb.Shape, hint: "rope_cos"), Sin: g.Const(tb.Sin, tb.Shape, hint: "rope_sin"))).ToArray();

        (string Cos, string Sin) CosSin(string[] ids)
        {
            var cs = g.Op("Concat", Enumerable.Range(0, 3).Select(a => g.Op("Gather", [tab[a].Cos, ids[a]], attributes: A("axis", 0L))).ToArray(), attributes: A("axis", -1L));
            var sn = g.Op("Concat", Enumerable.Range(0, 3).Select(a => g.Op("Gather", [tab[a].Sin, ids[a]], attributes: A("axis", 0L))).ToArray(), attributes: A("axis", -1L));
            var shape = g.Ints(1, -1, 1, hd / 2, 1); // [1, S, 1 (heads), pairs, 1]
            return (g.Op("Reshape", [cs, shape]), g.Op("Reshape", [sn, shape]));
        }

        var imgRope = CosSin(imgIds);
        var capRope = CosSin(capIds);
        var uniRope = (g.Op("Concat", [imgRope.Cos, capRope.Cos], attributes: A("axis", 1L)), g.Op("Concat", [imgRope.Sin, capRope.Sin], attributes: A("axis", 1L)));

        var s = overflowScale;

        string ApplyRope(string tIn, (string Cos, string Sin) rope)
        {
            // (x0 + i x1) * (cos + i sin) on interleaved pairs, float32
            var t5 = g.Op("Reshape", [tIn, g.Ints(0, 0, heads, hd / 2, 2)]);
            var pair = g.Op("Split", [t5], 2, attributes: A("axis", -1L));
            var re = g.Op("Sub", [g.Op("Mul", [pair[0], rope.Cos]), g.Op("Mul", [pair[1], rope.Sin])]);
            var im = g.Op("Add", [g.Op("Mul", [pair[0], rope.Sin]), g.Op("Mul", [pair[1], rope.Cos])]);
            return g.Op("Reshape", [g.Op("Concat", [re, im], attributes: A("axis", -1L)), g.Ints(0, 0, d)]);
        }

        string Attention(string xin, string p, (string, string) rope)
        {
            var xc = o.ToCompute(xin);
            var q = o.ToF32(o.Linear(xc, p + "attention.to_q", src.Get(p + "attention.to_q.weight"), weightDtype: dtype));
            var k = o.ToF32(o.Linear(xc, p + "attention.to_k", src.Get(p + "attention.to_k.weight"), weightDtype: dtype));
            var v = o.Linear(xc, p + "attention.to_v", src.Get(p + "attention.to_v.weight"), weightDtype: dtype);
            var perHead = g.Ints(0, 0, heads, hd);
            q = o.RmsNorm(g.Op("Reshape", [q, perHead]), p + "attention.norm_q", src.Get(p + "attention.norm_q.weight"), arch.NormEps);
            k = o.RmsNorm(g.Op("Reshape", [k, perHead]), p + "attention.norm_k", src.Get(p + "attention.norm_k.weight"), arch.NormEps);
            q = o.ToCompute(ApplyRope(q, rope));
            k = o.ToCompute(ApplyRope(k, rope));
            var a = o.Mha(q, k, v, heads);
            return o.ToF32(o.Linear(a, p + "attention.to_out.0", src.Get(p + "attention.to_out.0.weight"), weightDtype: dtype, scale: 1f / s));
        }

        string Ffn(string xin, string p)
        {
            var xc = o.ToCompute(xin);
            var a = o.Linear(xc, p + "feed_forward.w1", src.Get(p + "feed_forward.w1.weight"), weightDtype: dtype);
            var b = o.Linear(xc, p + "feed_forward.w3", src.Get(p + "feed_forward.w3.weight"), weightDtype: dtype, scale: 1f / s);
            return o.ToF32(o.Linear(g.Op("Mul", [o.Silu(a), b]), p + "feed_forward.w2", src.Get(p + "feed_forward.w2.weight"), weightDtype: dtype));
        }

        string Block(string xs, string p, (string, string) rope, bool modulated)
        {
            double eps = arch.NormEps, epsOut = arch.NormEps / ((double)s * s);
            string Nrm(string v, string n, double e) => o.RmsNorm(v, p + n, src.Get(p + n + ".weight"), e);
            if (modulated)
            {
                var mod = o.Linear(adaln, p + "adaLN_modulation.0", src.Get(p + "adaLN_modulation.0.weight"), src.Get(p + "adaLN_modulation.0.bias"));
                var parts = g.Op("Split", [mod], 4, attributes: A("axis", -1L)); // each [1, d]
                var scMsa = g.Op("Add", [parts[0], F32(1f)]);
                var scMlp = g.Op("Add", [parts[2], F32(1f)]);
                var gMsa = g.Op("Tanh", [parts[1]]);
                var gMlp = g.Op("Tanh", [parts[3]]);
                var a = Attention(g.Op("Mul", [Nrm(xs, "attention_norm1", eps), scMsa]), p, rope);
                xs = g.Op("Add", [xs, g.Op("Mul", [gMsa, Nrm(a, "attention_norm2", epsOut)])]);
                var f = Ffn(g.Op("Mul", [Nrm(xs, "ffn_norm1", eps), scMlp]), p);
                xs = g.Op("Add", [xs, g.Op("Mul", [gMlp, Nrm(f, "ffn_norm2", epsOut)])]);
            }
            else
            {
                var a = Attention(Nrm(xs, "attention_norm1", eps), p, rope);
                xs = g.Op("Add", [xs, Nrm(a, "attention_norm2", epsOut)]);
                var f = Ffn(Nrm(xs, "ffn_norm1", eps), p);
                xs = g.Op("Add", [xs, Nrm(f, "ffn_norm2", epsOut)]);
            }
            return xs;
        }

        for (var i = 0; i < arch.NRefinerLayers; i++)
            x = Block(x, $"noise_refiner.{i}.", imgRope, true);
        for (var i = 0; i < arch.NRefinerLayers; i++)
            cap = Block(cap, $"context_refiner.{i}.", capRope, false);
        var u = g.Op("Concat", [x, cap], attributes: A("axis", 1L));
        for (var i = 0; i < arch.NLayers; i++)
            u = Block(u, $"layers.{i}.", uniRope, true);

        // ---- final layer (float32): LayerNorm(no affine, eps 1e-6) * (1 + Linear(SiLU(t))) -> Linear
        const string Fl = "all_final_layer.2-1.";
        var scale = g.Op("Add", [o.Linear(o.Silu(adaln), Fl + "adaLN_modulation.1", src.Get(Fl + "adaLN_modulation.1.weight"),
            src.Get(Fl + "adaLN_modulation.1.bias")), F32(1f)]);
        var ln = g.Op("LayerNormalization", [u, g.Const(Enumerable.Repeat(1f, d).ToArray(), [d], hint: "ln_one"), g.Const(new float[d], [d], hint: "ln_zero")],
            attributes: [A("axis", -1L), A("epsilon", 1e-6f)]);
        var y = o.Linear(g.Op("Mul", [ln, scale]), Fl + "linear", src.Get(Fl + "linear.weight"), src.Get(Fl + "linear.bias"));

        // ---- unpatchify the N real image tokens: [1, N, (ph, pw, c)] -> [1, C, h, w]
        y = g.Op("Slice", [y, g.Ints(0), nImg, g.Ints(1)]);
        y = g.Op("Reshape", [y, g.Op("Concat", [ht, wt, g.Ints(2, 2, c)], attributes: A("axis", 0L))]);
        y = g.Op("Transpose", [y], attributes: A("perm", new long[] { 4, 0, 2, 1, 3 })); // (c, ht, ph, wt, pw)
        y = g.Op("Reshape", [y, g.Op("Concat", [g.Ints(1, c), h, w], attributes: A("axis", 0L))]);
        g.Output(y, "model_out", ElemFloat, 1, c, "latent_height", "latent_width");
    }
}
