"""python -m tools.export: write a ZImage model folder (docs/model-format.md).

  --checkpoint DIR   the official Z-Image-Turbo checkpoint, diffusers layout (transformer/, text_encoder/, vae/, tokenizer/)
  --tiny             the same architecture, tiny widths, seeded random weights (the committed self-test model)
  --random-full      the full-size architecture with seeded random weights (GPU benchmarks; never committed)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from .arch import architecture_from_checkpoint, full_architecture, tiny_architecture
from .export import SPECIAL_IDS, TEMPLATE_PREFIX, TEMPLATE_SUFFIX, export
from .weights import CheckpointPart, RandomPart, random_tensor, write_safetensors


def text_encoder_all_shapes(te) -> dict:
    """Every layer plus the final norm, so a random checkpoint is complete like a real one."""
    full = type(te)(**{**te.__dict__, "num_hidden_layers": te.num_hidden_layers + 1})
    shapes = full.shapes()
    shapes["norm.weight"] = (te.hidden_size,)
    return shapes


def write_random_checkpoint(ckpt: Path, arch, seed: int, tokenizer_json: Path | None, tokenizer_config: Path | None) -> None:
    """A diffusers-layout checkpoint like the official one (float32), so --tiny goes through the same loading
    code as a real export and the official loader can read it for the golden outputs."""
    if ckpt.exists():
        shutil.rmtree(ckpt)
    for sub in ("transformer", "text_encoder", "vae", "tokenizer", "scheduler"):
        (ckpt / sub).mkdir(parents=True)
    dit = {k: random_tensor(seed, "transformer." + k, s) for k, s in arch.transformer.shapes().items()}
    write_safetensors(ckpt / "transformer" / "diffusion_pytorch_model.safetensors", dit)
    (ckpt / "transformer" / "config.json").write_text(json.dumps(arch.transformer.diffusers_config(), indent=2))
    te_shapes = text_encoder_all_shapes(arch.text_encoder)
    # Saved as a causal-LM checkpoint is: every name under "model.", the tied lm_head left out.
    te = {"model." + k: random_tensor(seed, "text_encoder." + k, s) for k, s in te_shapes.items()}
    write_safetensors(ckpt / "text_encoder" / "model.safetensors", te)
    (ckpt / "text_encoder" / "config.json").write_text(json.dumps(arch.text_encoder.hf_config(), indent=2))
    vae = {k: random_tensor(seed, "vae." + k, s) for k, s in arch.vae.shapes().items()}
    write_safetensors(ckpt / "vae" / "diffusion_pytorch_model.safetensors", vae)
    (ckpt / "vae" / "config.json").write_text(json.dumps(arch.vae.diffusers_config(), indent=2))
    (ckpt / "scheduler" / "scheduler_config.json").write_text(json.dumps(
        {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": arch.scheduler_shift,
         "use_dynamic_shifting": False}, indent=2))
    if tokenizer_json is not None:
        shutil.copyfile(tokenizer_json, ckpt / "tokenizer" / "tokenizer.json")
    if tokenizer_config is not None:
        shutil.copyfile(tokenizer_config, ckpt / "tokenizer" / "tokenizer_config.json")


def checkpoint_sources(ckpt: Path) -> dict:
    return {
        "text_encoder": CheckpointPart(ckpt / "text_encoder", strip_prefix="model."),
        "transformer": CheckpointPart(ckpt / "transformer"),
        "vae": CheckpointPart(ckpt / "vae"),
    }


def sample_ids(tokenizer_json: Path | None):
    if tokenizer_json is None:
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    tok = Tokenizer.from_file(str(tokenizer_json))
    return tok.encode(TEMPLATE_PREFIX + "A red fox in the snow, 雪地里的红狐狸 🦊" + TEMPLATE_SUFFIX, add_special_tokens=False).ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--checkpoint", type=Path, help="official checkpoint folder (diffusers layout)")
    mode.add_argument("--tiny", action="store_true", help="tiny random self-test model")
    mode.add_argument("--random-full", action="store_true", help="full-size architecture, random weights")
    ap.add_argument("--out", type=Path, required=True, help="model folder to write (must not exist, or be empty, unless --force)")
    ap.add_argument("--dtype", choices=["fp16", "bf16", "fp32"], help="weights of the text encoder and transformer "
                    "(default fp16; fp32 for --tiny). The VAE follows --vae-dtype; every graph input/output is float32.")
    ap.add_argument("--vae-dtype", choices=["fp32", "fp16"], default="fp32", help="weights and activations of the VAE "
                    "decoder (default fp32). fp16 halves its workspace, the peak of a 1024x1024 image (docs/performance.md).")
    ap.add_argument("--reuse-from", type=Path, help="link the text encoder and transformer of this earlier export (same weights "
                    "and dtype) instead of writing them again; only the VAE decoder is built (e.g. an fp16 VAE variant)")
    ap.add_argument("--reference-src", type=Path, help="the official Tongyi-MAI/Z-Image src/ folder, for the numerical check")
    ap.add_argument("--no-check", action="store_true", help="skip the check against the reference (not recommended)")
    ap.add_argument("--tokenizer", type=Path, help="tokenizer.json (required for --tiny / --random-full to record its sha256)")
    ap.add_argument("--tokenizer-config", type=Path, help="tokenizer_config.json to place beside it")
    ap.add_argument("--no-tokenizer-copy", action="store_true", help="record the tokenizer in the manifest but do not copy tokenizer.json")
    ap.add_argument("--tiny-checkpoint", type=Path, help="--tiny: where to keep the generated checkpoint (default: removed after export)")
    ap.add_argument("--seed", type=int, default=0, help="random-weight seed (--tiny, --random-full)")
    ap.add_argument("--force", action="store_true", help="replace an existing --out folder")
    a = ap.parse_args(argv)

    if a.reference_src is None and not a.no_check:
        ap.error("--reference-src is required (the check runs before anything is written); or pass --no-check")
    dtype = a.dtype or ("fp32" if a.tiny else "fp16")
    tok_json, tok_cfg = a.tokenizer, a.tokenizer_config
    for p in (tok_json, tok_cfg):
        if p is not None and not p.is_file():
            ap.error(f"no such file: {p}")

    temp_ckpt = None
    if a.checkpoint is not None:
        ckpt = a.checkpoint
        arch = architecture_from_checkpoint(ckpt)
        sources = checkpoint_sources(ckpt)
        tok_json = tok_json or ckpt / "tokenizer" / "tokenizer.json"
        tok_cfg = tok_cfg or ckpt / "tokenizer" / "tokenizer_config.json"
        if not tok_json.is_file():
            ap.error(f"missing {tok_json} (or pass --tokenizer)")
        name, random_weights, source = "Z-Image-Turbo", False, f"checkpoint {ckpt.resolve().name}"
    elif a.tiny:
        arch = tiny_architecture()
        ckpt = a.tiny_checkpoint or a.out.parent / (a.out.name + ".tiny-checkpoint")
        temp_ckpt = None if a.tiny_checkpoint else ckpt
        write_random_checkpoint(ckpt, arch, a.seed, tok_json, tok_cfg)
        arch = architecture_from_checkpoint(ckpt)  # read back, exactly as a real checkpoint is
        sources = checkpoint_sources(ckpt)
        name, random_weights, source = "self-test-tiny", True, f"--tiny --seed {a.seed}"
    else:
        arch = full_architecture()
        sources = {
            "text_encoder": RandomPart("text_encoder.", text_encoder_all_shapes(arch.text_encoder), a.seed, fast=True),
            "transformer": RandomPart("transformer.", arch.transformer.shapes(), a.seed, fast=True),
            "vae": RandomPart("vae.", arch.vae.shapes(), a.seed, fast=True),
        }
        name, random_weights, source = "Z-Image-Turbo architecture, random weights", True, f"--random-full --seed {a.seed}"

    try:
        export(a.out, arch, sources, dtype, model_name=name, random_weights=random_weights, source=source,
               reference_src=None if a.no_check else a.reference_src, tokenizer_json=tok_json, tokenizer_config=tok_cfg,
               copy_tokenizer=not a.no_tokenizer_copy, sample_ids=sample_ids(tok_json), force=a.force,
               vae_dtype=a.vae_dtype, reuse=a.reuse_from)
    finally:
        if temp_ckpt is not None:
            shutil.rmtree(temp_ckpt, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
