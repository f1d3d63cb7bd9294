"""Imports the official Z-Image code (a checkout's src/ folder, never vendored here) and builds reference
torch modules that hold the same weights as an export source."""

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


def _load(module, src, names, torch):
    sd = {k: torch.from_numpy(np.ascontiguousarray(src.get(k))) for k in names}
    missing, unexpected = module.load_state_dict(sd, strict=False)
    return missing, unexpected


def dit_module(src_dir, arch, src):
    import torch
    tr, _ = import_official(src_dir)
    cfg = arch.diffusers_config()
    cfg.pop("_class_name")
    cfg["all_patch_size"] = tuple(cfg["all_patch_size"])
    cfg["all_f_patch_size"] = tuple(cfg["all_f_patch_size"])
    with torch.device("meta"):  # 6B parameters: build empty, then take the source tensors as they are
        m = tr.ZImageTransformer2DModel(**cfg)
    sd = {k: torch.from_numpy(np.ascontiguousarray(src.get(k))) for k in arch.shapes()}
    missing, _ = m.load_state_dict(sd, strict=False, assign=True)
    if missing:
        raise RuntimeError(f"reference transformer: weights not set: {missing[:8]}")
    return m.float().eval()


def vae_module(src_dir, arch, src):
    import torch
    _, ae = import_official(src_dir)
    cfg = arch.diffusers_config()
    cfg.pop("_class_name")
    m = ae.AutoencoderKL(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()})
    missing, _ = _load(m, src, list(arch.shapes().keys()), torch)
    missing = [k for k in missing if not k.startswith(("encoder.", "quant_conv."))]
    if missing:
        raise RuntimeError(f"reference VAE: decoder weights not set: {missing[:8]}")
    return m.float().eval()


def text_encoder_module(arch, src):
    """transformers Qwen3Model with the exported layers plus one more (hidden_states[-2] is taken, so the
    last layer and the final norm only need to exist; the checkpoint's own are used when present)."""
    import torch
    from transformers import Qwen3Config, Qwen3Model
    cfg = arch.hf_config()
    cfg.pop("architectures")
    cfg.pop("model_type")
    m = Qwen3Model(Qwen3Config(**cfg))
    names = [k for k in m.state_dict().keys() if k in set(src.keys())]
    _load(m, src, names, torch)
    needed = set(arch.shapes().keys())
    if not needed.issubset(set(names)):
        raise RuntimeError(f"reference text encoder: weights not set: {sorted(needed - set(names))[:8]}")
    return m.float().eval()
