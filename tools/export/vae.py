"""Flux VAE decoder graph: latent [1, 16, h, w] in the sampler's space -> image [1, 3, 8h, 8w] in [-1, 1] (not
clamped). The graph itself applies z = latent / scaling_factor + shift_factor first, as the official pipeline does
before vae.decode. Input and output are float32 whatever the dtype; with dtype fp16 everything between (weights,
activations, convolutions, the group norms' inputs and outputs) is fp16, which halves the decoder's workspace, the
largest single allocation of a 1024x1024 image. Group norm statistics are still accumulated in float32 by the
providers' InstanceNormalization kernels.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .arch import VaeArch
from .graph import Graph, Ops

EPS = 1e-6


def build(g: Graph, arch: VaeArch, src, dtype: str = "fp32") -> None:
    if dtype not in ("fp32", "fp16"):
        raise ValueError(f"VAE dtype {dtype}: only fp32 and fp16 are supported")
    o = Ops(g, dtype)
    i64 = lambda *v: g.const(np.array(v, np.int64))
    G = arch.norm_num_groups
    w = lambda name, arr: g.weight(name, arr, dtype)

    def conv(x: str, name: str, pad: int) -> str:
        return g.op("Conv", [x, w(name + ".weight", src.get(name + ".weight")), w(name + ".bias", src.get(name + ".bias"))],
                    pads=[pad, pad, pad, pad])

    def group_norm(x: str, name: str) -> str:
        # torch GroupNorm: normalise each of G channel groups over (C/G, H, W) with the biased variance,
        # then the per-channel affine. InstanceNormalization over [1, G, C/G*H*W] does the first half.
        c = src.shape(name + ".weight")[0]
        y = g.op("Reshape", [x, i64(1, G, -1)])
        y = g.op("InstanceNormalization", [y, g.const(np.ones(G, np.float32), dtype, hint="gn_one"),
                                           g.const(np.zeros(G, np.float32), dtype, hint="gn_zero")], epsilon=EPS)
        y = g.op("Reshape", [y, g.op("Shape", [x])])
        y = g.op("Mul", [y, w(name + ".weight", src.get(name + ".weight").reshape(c, 1, 1))])
        return g.op("Add", [y, w(name + ".bias", src.get(name + ".bias").reshape(c, 1, 1))])

    def resnet(x: str, name: str) -> str:
        hdn = conv(o.silu(group_norm(x, name + ".norm1")), name + ".conv1", 1)
        hdn = conv(o.silu(group_norm(hdn, name + ".norm2")), name + ".conv2", 1)
        if (name + ".conv_shortcut.weight") in src.keys():
            x = conv(x, name + ".conv_shortcut", 0)
        return g.op("Add", [x, hdn])

    def attention(x: str, name: str) -> str:
        # single head over all h*w positions, head size = channels
        c = src.shape(name + ".to_q.weight")[0]
        hdn = group_norm(x, name + ".group_norm")
        hdn = g.op("Transpose", [g.op("Reshape", [hdn, i64(1, c, -1)])], perm=[0, 2, 1])  # [1, hw, c]
        q = o.linear(hdn, name + ".to_q", src.get(name + ".to_q.weight"), src.get(name + ".to_q.bias"), dtype)
        k = o.linear(hdn, name + ".to_k", src.get(name + ".to_k.weight"), src.get(name + ".to_k.bias"), dtype)
        v = o.linear(hdn, name + ".to_v", src.get(name + ".to_v.weight"), src.get(name + ".to_v.bias"), dtype)
        a = o.mha(q, k, v, 1)
        a = o.linear(a, name + ".to_out.0", src.get(name + ".to_out.0.weight"), src.get(name + ".to_out.0.bias"), dtype)
        a = g.op("Reshape", [g.op("Transpose", [a], perm=[0, 2, 1]), g.op("Shape", [x])])
        return g.op("Add", [x, a])

    latent = g.input("latent", TensorProto.FLOAT, [1, arch.latent_channels, "latent_height", "latent_width"])
    z = g.op("Add", [g.op("Div", [latent, g.const(np.array(arch.scaling_factor, np.float32))]),
                     g.const(np.array(arch.shift_factor, np.float32))])
    z = o.to_compute(z)
    if arch.use_post_quant_conv:
        z = conv(z, "post_quant_conv", 0)
    x = conv(z, "decoder.conv_in", 1)
    x = resnet(x, "decoder.mid_block.resnets.0")
    x = attention(x, "decoder.mid_block.attentions.0")
    x = resnet(x, "decoder.mid_block.resnets.1")
    n = len(arch.block_out_channels)
    for i in range(n):
        for j in range(arch.layers_per_block + 1):
            x = resnet(x, f"decoder.up_blocks.{i}.resnets.{j}")
        if i != n - 1:
            # nearest 2x, as F.interpolate(scale_factor=2, mode="nearest")
            x = g.op("Resize", [x, "", g.const(np.array([1, 1, 2, 2], np.float32), hint="up2")], mode="nearest",
                     coordinate_transformation_mode="asymmetric", nearest_mode="floor")
            x = conv(x, f"decoder.up_blocks.{i}.upsamplers.0.conv", 1)
    x = o.to_f32(conv(o.silu(group_norm(x, "decoder.conv_norm_out")), "decoder.conv_out", 1))
    out_shape = [1, arch.out_channels, "image_height", "image_width"]
    g.output(x, "image", TensorProto.FLOAT, out_shape)
