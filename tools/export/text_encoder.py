"""Qwen3 text encoder graph: input_ids [1, L] -> hidden_states [1, L, hidden], the output of decoder layer
num_hidden_layers-2 (0-based) before the final norm, i.e. transformers' hidden_states[-2].

Batch 1, no padding: causal attention over the L real tokens gives exactly the rows the reference keeps when
it pads to 512 and drops the padded rows with the attention mask.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .arch import TextEncoderArch
from .graph import ONNX_TYPE, Graph, Ops

# Additive causal bias. Large enough to zero exp() after the max subtraction, small enough for fp16.
MASK_VALUE = -30000.0


def rope_inv_freq(arch: TextEncoderArch) -> np.ndarray:
    # transformers: 1 / base ** (arange(0, dim, 2, int64).float() / dim), all float32
    exps = np.arange(0, arch.head_dim, 2, dtype=np.int64).astype(np.float32) / np.float32(arch.head_dim)
    return (np.float32(1.0) / np.power(np.float32(arch.rope_theta), exps)).astype(np.float32)


def build(g: Graph, arch: TextEncoderArch, src, dtype: str, overflow_scale: float) -> None:
    """overflow_scale (64 for fp16, else 1): o_proj and up_proj weights are divided by it and the layer outputs
    multiplied back in float32 before the residual add, so fp16 intermediates stay in range."""
    o = Ops(g, dtype)
    h, hd = arch.hidden_size, arch.head_dim
    nq, nkv = arch.num_attention_heads, arch.num_key_value_heads
    rep = nq // nkv

    ids = g.input("input_ids", TensorProto.INT64, [1, "sequence"])
    emb = g.weight("embed_tokens.weight", src.get("embed_tokens.weight"), dtype)
    x = o.to_f32(g.op("Gather", [emb, ids], axis=0))  # [1, L, h] float32 residual stream

    # RoPE tables for positions 0..L-1, float32: cos/sin of pos * inv_freq, duplicated over both halves.
    L = o.shape_dim(ids, 1)
    pos = g.op("Cast", [g.op("Range", [g.const(np.array(0, np.int64)), g.op("Squeeze", [L, g.const(np.array([0], np.int64))]),
                                        g.const(np.array(1, np.int64))])], to=TensorProto.FLOAT)
    inv = rope_inv_freq(arch)
    freqs = g.op("Mul", [g.op("Unsqueeze", [pos, g.const(np.array([1], np.int64))]), g.const(inv.reshape(1, -1))])
    ang = g.op("Concat", [freqs, freqs], axis=-1)  # [L, hd]
    shp = g.const(np.array([1, -1, 1, hd], np.int64))
    cos = g.op("Reshape", [g.op("Cos", [ang]), shp])
    sin = g.op("Reshape", [g.op("Sin", [ang]), shp])

    # Causal additive bias [1, nq, L, L] in the compute type.
    rng = g.op("Range", [g.const(np.array(0, np.int64)), g.op("Squeeze", [L, g.const(np.array([0], np.int64))]),
                         g.const(np.array(1, np.int64))])
    rows = g.op("Unsqueeze", [rng, g.const(np.array([1], np.int64))])
    cols = g.op("Unsqueeze", [rng, g.const(np.array([0], np.int64))])
    future = g.op("Greater", [cols, rows])
    bias = g.op("Where", [future, g.const(np.array(MASK_VALUE, np.float32), dtype), g.const(np.array(0.0, np.float32), dtype)])
    bias_shape = g.op("Concat", [g.const(np.array([1, nq], np.int64)), L, L], axis=0)
    bias = g.op("Expand", [bias, bias_shape])

    def rope(t: str, heads: int) -> str:
        # rotate_half: [x1, x2] -> [-x2, x1] on the two halves of each head
        t4 = g.op("Reshape", [t, g.const(np.array([0, 0, heads, hd], np.int64))])
        x1, x2 = g.op("Split", [t4], outputs=2, axis=-1)
        rot = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
        return g.op("Add", [g.op("Mul", [t4, cos]), g.op("Mul", [rot, sin])])

    s = overflow_scale
    for i in range(arch.exported_layers):
        p = f"layers.{i}."
        hn = o.to_compute(o.rms_norm(x, p + "input_layernorm", src.get(p + "input_layernorm.weight"), arch.rms_norm_eps))
        q = o.linear(hn, p + "self_attn.q_proj", src.get(p + "self_attn.q_proj.weight"), dtype=dtype)
        k = o.linear(hn, p + "self_attn.k_proj", src.get(p + "self_attn.k_proj.weight"), dtype=dtype)
        v = o.linear(hn, p + "self_attn.v_proj", src.get(p + "self_attn.v_proj.weight"), dtype=dtype)
        q = g.op("Reshape", [o.to_f32(q), g.const(np.array([0, 0, nq, hd], np.int64))])
        k = g.op("Reshape", [o.to_f32(k), g.const(np.array([0, 0, nkv, hd], np.int64))])
        q = o.rms_norm(q, p + "self_attn.q_norm", src.get(p + "self_attn.q_norm.weight"), arch.rms_norm_eps)
        k = o.rms_norm(k, p + "self_attn.k_norm", src.get(p + "self_attn.k_norm.weight"), arch.rms_norm_eps)
        q = rope(q, nq)
        k = rope(k, nkv)
        if rep > 1:
            # query head j reads kv head j // rep, as transformers' repeat_kv
            k = g.op("Expand", [g.op("Unsqueeze", [k, g.const(np.array([3], np.int64))]),
                                g.op("Concat", [g.const(np.array([1], np.int64)), L, g.const(np.array([nkv, rep, hd], np.int64))], axis=0)])
            v5 = g.op("Reshape", [v, g.const(np.array([0, 0, nkv, 1, hd], np.int64))])
            v = g.op("Expand", [v5, g.op("Concat", [g.const(np.array([1], np.int64)), L, g.const(np.array([nkv, rep, hd], np.int64))], axis=0)])
        flat = g.const(np.array([0, 0, nq * hd], np.int64))
        q = g.op("Reshape", [o.to_compute(q), flat])
        k = g.op("Reshape", [o.to_compute(k), flat])
        v = g.op("Reshape", [v, flat])
        a = o.mha(q, k, v, nq, bias)
        a = o.to_f32(o.linear(a, p + "self_attn.o_proj", src.get(p + "self_attn.o_proj.weight"), dtype=dtype, scale=1.0 / s))
        if s != 1.0:
            a = g.op("Mul", [a, g.const(np.array(s, np.float32))])
        x = g.op("Add", [x, a])

        hn = o.to_compute(o.rms_norm(x, p + "post_attention_layernorm", src.get(p + "post_attention_layernorm.weight"), arch.rms_norm_eps))
        gate = o.linear(hn, p + "mlp.gate_proj", src.get(p + "mlp.gate_proj.weight"), dtype=dtype)
        up = o.linear(hn, p + "mlp.up_proj", src.get(p + "mlp.up_proj.weight"), dtype=dtype, scale=1.0 / s)
        m = g.op("Mul", [o.silu(gate), up])
        m = o.to_f32(o.linear(m, p + "mlp.down_proj", src.get(p + "mlp.down_proj.weight"), dtype=dtype))
        if s != 1.0:
            m = g.op("Mul", [m, g.const(np.array(s, np.float32))])
        x = g.op("Add", [x, m])

    g.output(x, "hidden_states", TensorProto.FLOAT, [1, "sequence", h])
