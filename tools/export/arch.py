"""Architecture numbers of the three exported parts, read from a diffusers-layout checkpoint's config.json
files (or made up for --tiny), and the weight names and shapes each part needs.

Key names follow the official Z-Image code (src/zimage/transformer.py, src/zimage/autoencoder.py) and
transformers' Qwen3; a checkpoint is validated against these lists before anything is exported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

ADALN_EMBED_DIM = 256
T_EMBED_MID = 1024  # TimestepEmbedder(mid_size=1024) is fixed in the official code, whatever the width
FREQ_EMBED = 256
MAX_PERIOD = 10000
SEQ_MULTI_OF = 32


@dataclass
class TextEncoderArch:
    vocab_size: int = 151936
    hidden_size: int = 2560
    num_hidden_layers: int = 36
    num_attention_heads: int = 32
    num_key_value_heads: int = 8
    head_dim: int = 128
    intermediate_size: int = 9728
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1_000_000.0

    @property
    def exported_layers(self) -> int:
        # The pipeline takes hidden_states[-2]: the output of the second-to-last decoder layer, before the
        # final norm, so the last layer is never needed.
        return self.num_hidden_layers - 1

    @staticmethod
    def from_config(cfg: dict) -> "TextEncoderArch":
        if cfg.get("hidden_act", "silu") != "silu":
            raise ValueError(f"text_encoder/config.json: hidden_act must be 'silu', found {cfg.get('hidden_act')!r}")
        theta = cfg.get("rope_theta")
        if theta is None:
            theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 1_000_000.0)
        rope_type = (cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}).get("rope_type", "default")
        if rope_type not in ("default", None):
            raise ValueError(f"text_encoder/config.json: only default RoPE is supported, found rope_type {rope_type!r}")
        return TextEncoderArch(
            vocab_size=int(cfg["vocab_size"]),
            hidden_size=int(cfg["hidden_size"]),
            num_hidden_layers=int(cfg["num_hidden_layers"]),
            num_attention_heads=int(cfg["num_attention_heads"]),
            num_key_value_heads=int(cfg.get("num_key_value_heads", cfg["num_attention_heads"])),
            head_dim=int(cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]),
            intermediate_size=int(cfg["intermediate_size"]),
            rms_norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
            rope_theta=float(theta),
        )

    def hf_config(self) -> dict:
        return {
            "architectures": ["Qwen3ForCausalLM"],
            "model_type": "qwen3",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "intermediate_size": self.intermediate_size,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_parameters": {"rope_type": "default", "rope_theta": self.rope_theta},
            "hidden_act": "silu",
            "attention_bias": False,
            "tie_word_embeddings": True,
            "max_position_embeddings": 40960,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
        }

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Weights the exported layers need (names without the 'model.' prefix of a causal-LM checkpoint)."""
        h, hd = self.hidden_size, self.head_dim
        out = {"embed_tokens.weight": (self.vocab_size, h)}
        for i in range(self.exported_layers):
            p = f"layers.{i}."
            out[p + "input_layernorm.weight"] = (h,)
            out[p + "post_attention_layernorm.weight"] = (h,)
            out[p + "self_attn.q_proj.weight"] = (self.num_attention_heads * hd, h)
            out[p + "self_attn.k_proj.weight"] = (self.num_key_value_heads * hd, h)
            out[p + "self_attn.v_proj.weight"] = (self.num_key_value_heads * hd, h)
            out[p + "self_attn.o_proj.weight"] = (h, self.num_attention_heads * hd)
            out[p + "self_attn.q_norm.weight"] = (hd,)
            out[p + "self_attn.k_norm.weight"] = (hd,)
            out[p + "mlp.gate_proj.weight"] = (self.intermediate_size, h)
            out[p + "mlp.up_proj.weight"] = (self.intermediate_size, h)
            out[p + "mlp.down_proj.weight"] = (h, self.intermediate_size)
        return out


@dataclass
class TransformerArch:
    in_channels: int = 16
    patch_size: int = 2
    dim: int = 3840
    n_layers: int = 30
    n_refiner_layers: int = 2
    n_heads: int = 30
    n_kv_heads: int = 30
    norm_eps: float = 1e-5
    qk_norm: bool = True
    cap_feat_dim: int = 2560
    rope_theta: float = 256.0
    t_scale: float = 1000.0
    axes_dims: list = field(default_factory=lambda: [32, 48, 48])
    axes_lens: list = field(default_factory=lambda: [1536, 512, 512])

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def adaln_dim(self) -> int:
        return min(self.dim, ADALN_EMBED_DIM)

    @property
    def ffn_hidden(self) -> int:
        return int(self.dim / 3 * 8)

    @property
    def patch_dim(self) -> int:
        return self.patch_size * self.patch_size * self.in_channels

    @staticmethod
    def from_config(cfg: dict) -> "TransformerArch":
        a = TransformerArch(
            in_channels=int(cfg.get("in_channels", 16)),
            dim=int(cfg.get("dim", 3840)),
            n_layers=int(cfg.get("n_layers", 30)),
            n_refiner_layers=int(cfg.get("n_refiner_layers", 2)),
            n_heads=int(cfg.get("n_heads", 30)),
            n_kv_heads=int(cfg.get("n_kv_heads", 30)),
            norm_eps=float(cfg.get("norm_eps", 1e-5)),
            qk_norm=bool(cfg.get("qk_norm", True)),
            cap_feat_dim=int(cfg.get("cap_feat_dim", 2560)),
            rope_theta=float(cfg.get("rope_theta", 256.0)),
            t_scale=float(cfg.get("t_scale", 1000.0)),
            axes_dims=list(cfg.get("axes_dims", [32, 48, 48])),
            axes_lens=list(cfg.get("axes_lens", [1536, 512, 512])),
        )
        patch = list(cfg.get("all_patch_size", [2]))
        fpatch = list(cfg.get("all_f_patch_size", [1]))
        if patch != [2] or fpatch != [1]:
            raise ValueError(f"transformer/config.json: only all_patch_size [2] / all_f_patch_size [1] are supported, found {patch} / {fpatch}")
        if a.n_kv_heads != a.n_heads:
            raise ValueError("transformer/config.json: n_kv_heads must equal n_heads (the official code has no GQA path)")
        if not a.qk_norm:
            raise ValueError("transformer/config.json: qk_norm false is not supported")
        if a.head_dim != sum(a.axes_dims) or any(d % 2 for d in a.axes_dims):
            raise ValueError(f"transformer/config.json: axes_dims {a.axes_dims} must be even and sum to dim/n_heads = {a.head_dim}")
        return a

    def diffusers_config(self) -> dict:
        return {
            "_class_name": "ZImageTransformer2DModel",
            "all_patch_size": [2],
            "all_f_patch_size": [1],
            "in_channels": self.in_channels,
            "dim": self.dim,
            "n_layers": self.n_layers,
            "n_refiner_layers": self.n_refiner_layers,
            "n_heads": self.n_heads,
            "n_kv_heads": self.n_kv_heads,
            "norm_eps": self.norm_eps,
            "qk_norm": self.qk_norm,
            "cap_feat_dim": self.cap_feat_dim,
            "rope_theta": self.rope_theta,
            "t_scale": self.t_scale,
            "axes_dims": self.axes_dims,
            "axes_lens": self.axes_lens,
        }

    def block_shapes(self, prefix: str, modulated: bool) -> dict[str, tuple[int, ...]]:
        d, hd, f = self.dim, self.head_dim, self.ffn_hidden
        out = {
            prefix + "attention.to_q.weight": (d, d),
            prefix + "attention.to_k.weight": (d, d),
            prefix + "attention.to_v.weight": (d, d),
            prefix + "attention.to_out.0.weight": (d, d),
            prefix + "attention.norm_q.weight": (hd,),
            prefix + "attention.norm_k.weight": (hd,),
            prefix + "feed_forward.w1.weight": (f, d),
            prefix + "feed_forward.w2.weight": (d, f),
            prefix + "feed_forward.w3.weight": (f, d),
            prefix + "attention_norm1.weight": (d,),
            prefix + "ffn_norm1.weight": (d,),
            prefix + "attention_norm2.weight": (d,),
            prefix + "ffn_norm2.weight": (d,),
        }
        if modulated:
            out[prefix + "adaLN_modulation.0.weight"] = (4 * d, self.adaln_dim)
            out[prefix + "adaLN_modulation.0.bias"] = (4 * d,)
        return out

    def shapes(self) -> dict[str, tuple[int, ...]]:
        d = self.dim
        out = {
            "all_x_embedder.2-1.weight": (d, self.patch_dim),
            "all_x_embedder.2-1.bias": (d,),
            "all_final_layer.2-1.linear.weight": (self.patch_dim, d),
            "all_final_layer.2-1.linear.bias": (self.patch_dim,),
            "all_final_layer.2-1.adaLN_modulation.1.weight": (d, self.adaln_dim),
            "all_final_layer.2-1.adaLN_modulation.1.bias": (d,),
            "t_embedder.mlp.0.weight": (T_EMBED_MID, FREQ_EMBED),
            "t_embedder.mlp.0.bias": (T_EMBED_MID,),
            "t_embedder.mlp.2.weight": (self.adaln_dim, T_EMBED_MID),
            "t_embedder.mlp.2.bias": (self.adaln_dim,),
            "cap_embedder.0.weight": (self.cap_feat_dim,),
            "cap_embedder.1.weight": (d, self.cap_feat_dim),
            "cap_embedder.1.bias": (d,),
            "x_pad_token": (1, d),
            "cap_pad_token": (1, d),
        }
        for i in range(self.n_refiner_layers):
            out.update(self.block_shapes(f"noise_refiner.{i}.", True))
        for i in range(self.n_refiner_layers):
            out.update(self.block_shapes(f"context_refiner.{i}.", False))
        for i in range(self.n_layers):
            out.update(self.block_shapes(f"layers.{i}.", True))
        return out


@dataclass
class VaeArch:
    latent_channels: int = 16
    out_channels: int = 3
    block_out_channels: list = field(default_factory=lambda: [128, 256, 512, 512])
    layers_per_block: int = 2
    norm_num_groups: int = 32
    scaling_factor: float = 0.3611
    shift_factor: float = 0.1159
    use_post_quant_conv: bool = False

    @property
    def scale_factor(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)

    @staticmethod
    def from_config(cfg: dict) -> "VaeArch":
        a = VaeArch(
            latent_channels=int(cfg.get("latent_channels", 16)),
            out_channels=int(cfg.get("out_channels", 3)),
            block_out_channels=list(cfg.get("block_out_channels", [128, 256, 512, 512])),
            layers_per_block=int(cfg.get("layers_per_block", 2)),
            norm_num_groups=int(cfg.get("norm_num_groups", 32)),
            scaling_factor=float(cfg.get("scaling_factor", 0.3611)),
            shift_factor=float(cfg.get("shift_factor") or 0.0),
            use_post_quant_conv=bool(cfg.get("use_post_quant_conv", True)),
        )
        ups = cfg.get("up_block_types")
        if ups is not None and any(t != "UpDecoderBlock2D" for t in ups):
            raise ValueError(f"vae/config.json: only UpDecoderBlock2D up blocks are supported, found {ups}")
        if any(c % a.norm_num_groups for c in a.block_out_channels):
            raise ValueError(f"vae/config.json: block_out_channels {a.block_out_channels} must be multiples of norm_num_groups {a.norm_num_groups}")
        return a

    def diffusers_config(self) -> dict:
        n = len(self.block_out_channels)
        return {
            "_class_name": "AutoencoderKL",
            "in_channels": 3,
            "out_channels": self.out_channels,
            "down_block_types": ["DownEncoderBlock2D"] * n,
            "up_block_types": ["UpDecoderBlock2D"] * n,
            "block_out_channels": self.block_out_channels,
            "layers_per_block": self.layers_per_block,
            "latent_channels": self.latent_channels,
            "norm_num_groups": self.norm_num_groups,
            "scaling_factor": self.scaling_factor,
            "shift_factor": self.shift_factor,
            "use_quant_conv": False,
            "use_post_quant_conv": self.use_post_quant_conv,
            "mid_block_add_attention": True,
        }

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Decoder weights only: the encoder is never exported."""
        out: dict[str, tuple[int, ...]] = {}

        def conv(name, cin, cout, k):
            out[name + ".weight"] = (cout, cin, k, k)
            out[name + ".bias"] = (cout,)

        def norm(name, c):
            out[name + ".weight"] = (c,)
            out[name + ".bias"] = (c,)

        def resnet(name, cin, cout):
            norm(name + ".norm1", cin)
            conv(name + ".conv1", cin, cout, 3)
            norm(name + ".norm2", cout)
            conv(name + ".conv2", cout, cout, 3)
            if cin != cout:
                conv(name + ".conv_shortcut", cin, cout, 1)

        ch = list(self.block_out_channels)
        top = ch[-1]
        if self.use_post_quant_conv:
            conv("post_quant_conv", self.latent_channels, self.latent_channels, 1)
        conv("decoder.conv_in", self.latent_channels, top, 3)
        resnet("decoder.mid_block.resnets.0", top, top)
        a = "decoder.mid_block.attentions.0"
        norm(a + ".group_norm", top)
        for p in ("to_q", "to_k", "to_v", "to_out.0"):
            out[f"{a}.{p}.weight"] = (top, top)
            out[f"{a}.{p}.bias"] = (top,)
        resnet("decoder.mid_block.resnets.1", top, top)
        rev = list(reversed(ch))
        cout = rev[0]
        for i, c in enumerate(rev):
            cin, cout = cout, c
            for j in range(self.layers_per_block + 1):
                resnet(f"decoder.up_blocks.{i}.resnets.{j}", cin if j == 0 else cout, cout)
            if i != len(ch) - 1:
                conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", cout, cout, 3)
        norm("decoder.conv_norm_out", ch[0])
        conv("decoder.conv_out", ch[0], self.out_channels, 3)
        return out


@dataclass
class Architecture:
    text_encoder: TextEncoderArch
    transformer: TransformerArch
    vae: VaeArch
    scheduler_shift: float = 3.0

    def as_dict(self) -> dict:
        return {
            "text_encoder": asdict(self.text_encoder),
            "transformer": asdict(self.transformer),
            "vae": asdict(self.vae),
            "scheduler_shift": self.scheduler_shift,
        }


def full_architecture() -> Architecture:
    return Architecture(TextEncoderArch(), TransformerArch(), VaeArch())


def tiny_architecture() -> Architecture:
    """Same graph as the real model, widths cut so the whole folder stays under 8 MB.

    The text encoder's embedding keeps the real vocabulary (151,936 rows) so real token ids index it;
    at hidden 8 in fp32 that table alone is 4.9 MB, the largest piece. fp32 because ONNX Runtime's CPU
    provider has no fp16 MatMul/MultiHeadAttention kernels and the C# parity tests run on CPU.
    The timestep MLP's 256->1024 layer is fixed by the official code (1 MB). Everything else is chosen
    so each code path still runs: GQA (2 query heads share 1 kv head), rotary pairs on three axes,
    token padding (48 image tokens at 128x96 pad to 64), several groups per GroupNorm (channels 8/16, 4 groups),
    three upsamplers (8x).
    """
    te = TextEncoderArch(
        vocab_size=151936, hidden_size=8, num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1,
        head_dim=8, intermediate_size=16, rms_norm_eps=1e-6, rope_theta=1_000_000.0,
    )
    dit = TransformerArch(
        in_channels=16, dim=32, n_layers=2, n_refiner_layers=1, n_heads=2, n_kv_heads=2, norm_eps=1e-5,
        cap_feat_dim=8, rope_theta=256.0, t_scale=1000.0, axes_dims=[4, 6, 6], axes_lens=[1536, 512, 512],
    )
    vae = VaeArch(
        latent_channels=16, out_channels=3, block_out_channels=[8, 8, 16, 16], layers_per_block=1,
        norm_num_groups=4, scaling_factor=0.3611, shift_factor=0.1159, use_post_quant_conv=False,
    )
    return Architecture(te, dit, vae)


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"missing {path}") from None


def architecture_from_checkpoint(ckpt: Path) -> Architecture:
    ckpt = Path(ckpt)
    te = TextEncoderArch.from_config(read_json(ckpt / "text_encoder" / "config.json"))
    dit = TransformerArch.from_config(read_json(ckpt / "transformer" / "config.json"))
    vae = VaeArch.from_config(read_json(ckpt / "vae" / "config.json"))
    shift = 3.0
    sched = ckpt / "scheduler" / "scheduler_config.json"
    if sched.exists():
        s = read_json(sched)
        if s.get("use_dynamic_shifting", False):
            raise ValueError("scheduler/scheduler_config.json: use_dynamic_shifting true is not supported")
        shift = float(s.get("shift", 3.0))
    if dit.cap_feat_dim != te.hidden_size:
        raise ValueError(f"transformer cap_feat_dim {dit.cap_feat_dim} != text encoder hidden_size {te.hidden_size}")
    if dit.in_channels != vae.latent_channels:
        raise ValueError(f"transformer in_channels {dit.in_channels} != vae latent_channels {vae.latent_channels}")
    return Architecture(te, dit, vae, shift)
