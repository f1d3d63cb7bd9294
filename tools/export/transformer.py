"""Z-Image S3-DiT graph, batch 1, re-expressed from the official ZImageTransformer2DModel.forward:

latent [1, C, h, w], timestep [1] (t = 1 - sigma), caption [Lc, cap_dim] -> model_out [1, C, h, w].

Inside: patchify (token order row-major over (h/2, w/2), vector order (ph, pw, c)), image and caption tokens
each padded to a multiple of 32 with their learned pad token (after the embedders), 3-axis position ids
(caption (i+1, 0, 0) for all padded caption rows; image (Lc_pad+1, row, col); image pad (0, 0, 0)), RoPE as
real cos/sin arithmetic on interleaved pairs (tables gathered by position id, exactly like the official
precomputed freqs_cis), noise refiner on image tokens, context refiner on caption tokens, the main layers
over [image, caption], final layer, unpatchify of the real image tokens.

Precision: the residual stream, every norm, the embedders, adaLN modulations, RoPE and the final layer are
float32; only the attention/FFN matmuls and the attention itself run in the export dtype. For fp16, to_out
and w3 weights are divided by overflow_scale (64) and the eps of the RMSNorm that follows each
(attention_norm2, ffn_norm2) by overflow_scale**2: RMSNorm(x/64, eps/4096) == RMSNorm(x, eps).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import TensorProto

from .arch import FREQ_EMBED, MAX_PERIOD, SEQ_MULTI_OF, TransformerArch
from .graph import Graph, Ops


def rope_tables(arch: TransformerArch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per axis (cos, sin) of shape [axes_lens[i], axes_dims[i]/2], as RopeEmbedder.precompute_freqs_cis:
    angles in float64, rounded to float32, then cos/sin of the float32 angle."""
    out = []
    for d, e in zip(arch.axes_dims, arch.axes_lens):
        freqs = 1.0 / (arch.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
        ang = np.outer(np.arange(e, dtype=np.float64), freqs).astype(np.float32)
        out.append((np.cos(ang.astype(np.float64)).astype(np.float32), np.sin(ang.astype(np.float64)).astype(np.float32)))
    return out


def timestep_freqs() -> np.ndarray:
    half = FREQ_EMBED // 2
    # exp(-ln(max_period) * arange(half) / half), float32 as in TimestepEmbedder.timestep_embedding
    a = np.float32(-math.log(MAX_PERIOD)) * np.arange(half, dtype=np.float32)
    return np.exp(a / np.float32(half)).astype(np.float32)


def build(g: Graph, arch: TransformerArch, src, dtype: str, overflow_scale: float) -> None:
    o = Ops(g, dtype)
    i64 = lambda *v: g.const(np.array(v, np.int64))
    scalar = lambda v: g.const(np.array(v, np.int64))
    f32 = lambda v: g.const(np.array(v, np.float32))
    d, C, hd, heads = arch.dim, arch.in_channels, arch.head_dim, arch.n_heads

    latent = g.input("latent", TensorProto.FLOAT, [1, C, "latent_height", "latent_width"])
    timestep = g.input("timestep", TensorProto.FLOAT, [1])
    caption = g.input("caption", TensorProto.FLOAT, ["caption_length", arch.cap_feat_dim])

    # ---- timestep embedding (float32)
    t = g.op("Mul", [timestep, f32(arch.t_scale)])
    args = g.op("Mul", [g.op("Unsqueeze", [t, i64(1)]), g.const(timestep_freqs().reshape(1, -1))])
    tf = g.op("Concat", [g.op("Cos", [args]), g.op("Sin", [args])], axis=-1)  # cos first, then sin
    te = o.linear(tf, "t_embedder.mlp.0", src.get("t_embedder.mlp.0.weight"), src.get("t_embedder.mlp.0.bias"))
    te = o.linear(o.silu(te), "t_embedder.mlp.2", src.get("t_embedder.mlp.2.weight"), src.get("t_embedder.mlp.2.bias"))
    adaln = te  # [1, adaln_dim]

    # ---- patchify: [1, C, h, w] -> [1, N, 4C], N = (h/2)(w/2)
    h = o.shape_dim(latent, 2)
    w = o.shape_dim(latent, 3)
    ht = g.op("Div", [h, i64(2)])
    wt = g.op("Div", [w, i64(2)])
    x = g.op("Reshape", [latent, g.op("Concat", [i64(C), ht, i64(2), wt, i64(2)], axis=0)])
    x = g.op("Transpose", [x], perm=[1, 3, 2, 4, 0])  # (ht, wt, ph, pw, c)
    x = g.op("Reshape", [x, i64(1, -1, arch.patch_dim)])
    n_img = g.op("Mul", [ht, wt])
    x = o.linear(x, "all_x_embedder.2-1", src.get("all_x_embedder.2-1.weight"), src.get("all_x_embedder.2-1.bias"))

    def pad_count(n: str) -> str:
        return g.op("Mod", [g.op("Sub", [i64(SEQ_MULTI_OF), g.op("Mod", [n, i64(SEQ_MULTI_OF)])]), i64(SEQ_MULTI_OF)])

    def append_pad(seq: str, name: str, count: str) -> str:
        tok = g.weight(name, src.get(name).reshape(1, 1, d))
        rows = g.op("Expand", [tok, g.op("Concat", [i64(1), count, i64(d)], axis=0)])
        return g.op("Concat", [seq, rows], axis=1)

    pad_img = pad_count(n_img)
    x = append_pad(x, "x_pad_token", pad_img)

    # ---- caption embedder: RMSNorm + Linear, float32
    lc = o.shape_dim(caption, 0)
    cap = g.op("Unsqueeze", [caption, i64(0)])
    cap = o.rms_norm(cap, "cap_embedder.0", src.get("cap_embedder.0.weight"), arch.norm_eps)
    cap = o.linear(cap, "cap_embedder.1", src.get("cap_embedder.1.weight"), src.get("cap_embedder.1.bias"))
    pad_cap = pad_count(lc)
    cap = append_pad(cap, "cap_pad_token", pad_cap)
    lc_pad = g.op("Add", [lc, pad_cap])

    # ---- position ids -> cos/sin [S, head_dim/2]
    def squeeze(v: str) -> str:
        return g.op("Squeeze", [v, i64(0)])

    def arange(start: str, stop: str) -> str:
        return g.op("Range", [start, stop, scalar(1)])

    zero = scalar(0)
    idx = arange(zero, squeeze(n_img))
    img_ids = [g.op("Expand", [g.op("Add", [lc_pad, i64(1)]), n_img]),
               g.op("Div", [idx, squeeze(wt)]),
               g.op("Mod", [idx, squeeze(wt)])]
    zeros_pad = g.op("Expand", [i64(0), pad_img])
    img_ids = [g.op("Concat", [a, zeros_pad], axis=0) for a in img_ids]
    cap_ids = [arange(scalar(1), g.op("Add", [squeeze(lc_pad), scalar(1)]))]
    zeros_cap = g.op("Expand", [i64(0), lc_pad])
    cap_ids += [zeros_cap, zeros_cap]

    tables = rope_tables(arch)
    tab = [(g.const(c, hint="rope_cos"), g.const(s, hint="rope_sin")) for c, s in tables]

    def cos_sin(ids: list[str]) -> tuple[str, str]:
        cs = g.op("Concat", [g.op("Gather", [tab[a][0], ids[a]], axis=0) for a in range(3)], axis=-1)
        sn = g.op("Concat", [g.op("Gather", [tab[a][1], ids[a]], axis=0) for a in range(3)], axis=-1)
        shape = i64(1, -1, 1, hd // 2, 1)  # [1, S, 1 (heads), pairs, 1]
        return g.op("Reshape", [cs, shape]), g.op("Reshape", [sn, shape])

    img_rope = cos_sin(img_ids)
    cap_rope = cos_sin(cap_ids)
    uni_rope = (g.op("Concat", [img_rope[0], cap_rope[0]], axis=1), g.op("Concat", [img_rope[1], cap_rope[1]], axis=1))

    s = overflow_scale

    def apply_rope(t: str, rope) -> str:
        # (x0 + i x1) * (cos + i sin) on interleaved pairs, float32
        t5 = g.op("Reshape", [t, i64(0, 0, heads, hd // 2, 2)])
        x0, x1 = g.op("Split", [t5], outputs=2, axis=-1)
        c, sn = rope
        re = g.op("Sub", [g.op("Mul", [x0, c]), g.op("Mul", [x1, sn])])
        im = g.op("Add", [g.op("Mul", [x0, sn]), g.op("Mul", [x1, c])])
        return g.op("Reshape", [g.op("Concat", [re, im], axis=-1), i64(0, 0, d)])

    def attention(xin: str, p: str, rope) -> str:
        xc = o.to_compute(xin)
        q = o.to_f32(o.linear(xc, p + "attention.to_q", src.get(p + "attention.to_q.weight"), dtype=dtype))
        k = o.to_f32(o.linear(xc, p + "attention.to_k", src.get(p + "attention.to_k.weight"), dtype=dtype))
        v = o.linear(xc, p + "attention.to_v", src.get(p + "attention.to_v.weight"), dtype=dtype)
        per_head = i64(0, 0, heads, hd)
        q = o.rms_norm(g.op("Reshape", [q, per_head]), p + "attention.norm_q", src.get(p + "attention.norm_q.weight"), arch.norm_eps)
        k = o.rms_norm(g.op("Reshape", [k, per_head]), p + "attention.norm_k", src.get(p + "attention.norm_k.weight"), arch.norm_eps)
        q = o.to_compute(apply_rope(q, rope))
        k = o.to_compute(apply_rope(k, rope))
        a = o.mha(q, k, v, heads)
        return o.to_f32(o.linear(a, p + "attention.to_out.0", src.get(p + "attention.to_out.0.weight"), dtype=dtype, scale=1.0 / s))

    def ffn(xin: str, p: str) -> str:
        xc = o.to_compute(xin)
        a = o.linear(xc, p + "feed_forward.w1", src.get(p + "feed_forward.w1.weight"), dtype=dtype)
        b = o.linear(xc, p + "feed_forward.w3", src.get(p + "feed_forward.w3.weight"), dtype=dtype, scale=1.0 / s)
        return o.to_f32(o.linear(g.op("Mul", [o.silu(a), b]), p + "feed_forward.w2", src.get(p + "feed_forward.w2.weight"), dtype=dtype))

    def block(xs: str, p: str, rope, modulated: bool) -> str:
        eps, eps_out = arch.norm_eps, arch.norm_eps / (s * s)
        nrm = lambda v, n, e: o.rms_norm(v, p + n, src.get(p + n + ".weight"), e)
        if modulated:
            mod = o.linear(adaln, p + "adaLN_modulation.0", src.get(p + "adaLN_modulation.0.weight"), src.get(p + "adaLN_modulation.0.bias"))
            sc_msa, g_msa, sc_mlp, g_mlp = g.op("Split", [mod], outputs=4, axis=-1)  # each [1, d]
            sc_msa = g.op("Add", [sc_msa, f32(1.0)])
            sc_mlp = g.op("Add", [sc_mlp, f32(1.0)])
            g_msa = g.op("Tanh", [g_msa])
            g_mlp = g.op("Tanh", [g_mlp])
            a = attention(g.op("Mul", [nrm(xs, "attention_norm1", eps), sc_msa]), p, rope)
            xs = g.op("Add", [xs, g.op("Mul", [g_msa, nrm(a, "attention_norm2", eps_out)])])
            f = ffn(g.op("Mul", [nrm(xs, "ffn_norm1", eps), sc_mlp]), p)
            xs = g.op("Add", [xs, g.op("Mul", [g_mlp, nrm(f, "ffn_norm2", eps_out)])])
        else:
            a = attention(nrm(xs, "attention_norm1", eps), p, rope)
            xs = g.op("Add", [xs, nrm(a, "attention_norm2", eps_out)])
            f = ffn(nrm(xs, "ffn_norm1", eps), p)
            xs = g.op("Add", [xs, nrm(f, "ffn_norm2", eps_out)])
        return xs

    for i in range(arch.n_refiner_layers):
        x = block(x, f"noise_refiner.{i}.", img_rope, True)
    for i in range(arch.n_refiner_layers):
        cap = block(cap, f"context_refiner.{i}.", cap_rope, False)
    u = g.op("Concat", [x, cap], axis=1)
    for i in range(arch.n_layers):
        u = block(u, f"layers.{i}.", uni_rope, True)

    # ---- final layer (float32): LayerNorm(no affine, eps 1e-6) * (1 + Linear(SiLU(t))) -> Linear
    fl = "all_final_layer.2-1."
    scale = g.op("Add", [o.linear(o.silu(adaln), fl + "adaLN_modulation.1", src.get(fl + "adaLN_modulation.1.weight"),
                                  src.get(fl + "adaLN_modulation.1.bias")), f32(1.0)])
    ln = g.op("LayerNormalization", [u, g.const(np.ones(d, np.float32), hint="ln_one"), g.const(np.zeros(d, np.float32), hint="ln_zero")],
              axis=-1, epsilon=1e-6)
    y = o.linear(g.op("Mul", [ln, scale]), fl + "linear", src.get(fl + "linear.weight"), src.get(fl + "linear.bias"))

    # ---- unpatchify the N real image tokens: [1, N, (ph, pw, c)] -> [1, C, h, w]
    y = g.op("Slice", [y, i64(0), n_img, i64(1)])
    y = g.op("Reshape", [y, g.op("Concat", [ht, wt, i64(2, 2, C)], axis=0)])
    y = g.op("Transpose", [y], perm=[4, 0, 2, 1, 3])  # (c, ht, ph, wt, pw)
    y = g.op("Reshape", [y, g.op("Concat", [i64(1, C), h, w], axis=0)])
    g.output(y, "model_out", TensorProto.FLOAT, [1, C, "latent_height", "latent_width"])
