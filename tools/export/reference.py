"""Imports the official Z-Image code (a checkout's src/ folder, never vendored here) and builds reference
torch modules from a checkpoint's config.json files and weights."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path

import numpy as np


def import_official(src_dir: Path):
    src_dir = Path(src_dir)
    if not (src_dir / "zimage" / "transformer.py").exists():
        raise FileNotFoundError(f"--reference-src {src_dir}: expected the official Z-Image src/ folder (with zimage/transformer.py)")
    try:
        import loguru  # noqa: F401
    except ImportError:
        # The official code logs through loguru; a logging-backed stand-in is enough for the reference.
        shim = types.ModuleType("loguru")
        shim.logger = logging.getLogger("zimage")
        shim.logger.success = shim.logger.info
        sys.modules["loguru"] = shim
    if str(src_dir) not in sys.path:
        sys.path.insert(0, str(src_dir))
    import zimage.autoencoder as ae
    import zimage.transformer as tr
    return tr, ae


def _kwargs(cls, cfg: dict) -> dict:
    """The config.json keys the constructor takes (diffusers' own keys such as _class_name are left out), lists as tuples."""
    import inspect
    accepted = set(inspect.signature(cls.__init__).parameters)
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in accepted}


def _state_dict(module, src, torch) -> dict:
    have = set(src.keys())
    return {k: torch.from_numpy(np.ascontiguousarray(src.get(k))) for k in module.state_dict().keys() if k in have}


def dit_module(src_dir, cfg: dict, src):
    """The official ZImageTransformer2DModel from the checkpoint's transformer/config.json and its weights."""
    import torch
    tr, _ = import_official(src_dir)
    cls = tr.ZImageTransformer2DModel
    with torch.device("meta"):  # 6B parameters: build empty, then take the source tensors as they are
        m = cls(**_kwargs(cls, cfg))
    missing, _ = m.load_state_dict(_state_dict(m, src, torch), strict=False, assign=True)
    if missing:
        raise RuntimeError(f"reference transformer: weights not set: {missing[:8]}")
    return m.float().eval()


def vae_module(src_dir, cfg: dict, src):
    import torch
    _, ae = import_official(src_dir)
    cls = ae.AutoencoderKL
    m = cls(**_kwargs(cls, cfg))
    missing, _ = m.load_state_dict(_state_dict(m, src, torch), strict=False)
    missing = [k for k in missing if not k.startswith(("encoder.", "quant_conv."))]
    if missing:
        raise RuntimeError(f"reference VAE: decoder weights not set: {missing[:8]}")
    return m.float().eval()


def text_encoder_module(cfg: dict, src):
    """transformers Qwen3Model from the checkpoint's text_encoder/config.json; hidden_states[-2] is compared, so
    the last layer and the final norm only need to exist (the checkpoint's own are used)."""
    from transformers import Qwen3Config, Qwen3Model
    import torch
    m = Qwen3Model(Qwen3Config(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")}))
    missing, _ = m.load_state_dict(_state_dict(m, src, torch), strict=False)
    if missing:
        raise RuntimeError(f"reference text encoder: weights not set: {missing[:8]}")
    return m.float().eval()
