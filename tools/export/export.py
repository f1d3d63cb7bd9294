"""Writes a ZImage model folder (docs/model-format.md) from a weight source, checking every graph against the
reference before the folder appears under its final name."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from . import text_encoder as te_graph
from . import transformer as dit_graph
from . import vae as vae_graph
from .arch import SEQ_MULTI_OF, Architecture
from .graph import MS_DOMAIN, OPSET, Graph
from .weights import validate

TOOL_VERSION = "1.0.0"
FORMAT_VERSION = 1
ATTENTION_OP = "com.microsoft.MultiHeadAttention"
OVERFLOW_SCALE = {"fp16": 64.0, "bf16": 1.0, "fp32": 1.0}

TEMPLATE_PREFIX = "<|im_start|>user\n"
TEMPLATE_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"
SPECIAL_IDS = {"endoftext": 151643, "im_start": 151644, "im_end": 151645}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_parts(folder: Path, arch: Architecture, sources: dict, dtype: str, overflow_scale: float,
                vae_dtype: str = "fp32", reuse: Path | None = None) -> dict:
    """Builds the three graphs under folder; returns parameter counts. With reuse, the text encoder and the
    transformer are linked from that earlier export (same architecture, weights and dtype, checked by the caller)
    and only the VAE decoder is built: a VAE variant without writing 19 GB again."""
    counts = {}
    if reuse is not None:
        old = json.loads((reuse / "zimage.json").read_text(encoding="utf-8"))
        for part in ("text_encoder", "transformer"):
            (folder / part).mkdir(parents=True, exist_ok=True)
            for f in ("model.onnx", "model.onnx.data"):
                os.symlink((reuse / part / f).resolve(), folder / part / f)
            counts[part] = old[part]["parameters"]
            print(f"  {part}: linked from {reuse}", flush=True)
    else:
        t0 = time.time()
        g = Graph("zimage_text_encoder", folder / "text_encoder")
        te_graph.build(g, arch.text_encoder, sources["text_encoder"], dtype, overflow_scale)
        g.save(TOOL_VERSION, {"zimage.part": "text_encoder", "zimage.dtype": dtype})
        counts["text_encoder"] = g.param_count
        print(f"  text_encoder: {g.param_count / 1e6:.1f} M params, {time.time() - t0:.0f}s", flush=True)
        t0 = time.time()
        g = Graph("zimage_transformer", folder / "transformer")
        dit_graph.build(g, arch.transformer, sources["transformer"], dtype, overflow_scale)
        g.save(TOOL_VERSION, {"zimage.part": "transformer", "zimage.dtype": dtype})
        counts["transformer"] = g.param_count
        print(f"  transformer: {g.param_count / 1e6:.1f} M params, {time.time() - t0:.0f}s", flush=True)
    t0 = time.time()
    g = Graph("zimage_vae_decoder", folder / "vae_decoder")
    vae_graph.build(g, arch.vae, sources["vae"], vae_dtype)
    g.save(TOOL_VERSION, {"zimage.part": "vae_decoder", "zimage.dtype": vae_dtype})
    counts["vae_decoder"] = g.param_count
    print(f"  vae_decoder ({vae_dtype}): {g.param_count / 1e6:.1f} M params, {time.time() - t0:.0f}s", flush=True)
    return counts


def check_reusable(reuse: Path, dtype: str, source: str) -> None:
    """--reuse-from must name an export of the very same weights: same dtype and the same source (seed/checkpoint)."""
    manifest_path = reuse / "zimage.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"--reuse-from {reuse}: no zimage.json there")
    old = json.loads(manifest_path.read_text(encoding="utf-8"))
    if old["dtypes"]["transformer"] != dtype or old["export"]["source"] != source:
        raise ValueError(f"--reuse-from {reuse}: it holds {old['dtypes']['transformer']} weights from "
                         f"'{old['export']['source']}', this export asks for {dtype} from '{source}'")


def run_checks(folder: Path, arch: Architecture, sources: dict, dtype: str, reference_src: Path, sample_ids,
               vae_dtype: str = "fp32", vae_only: bool = False) -> list:
    """vae_only: the text encoder and transformer were linked from an export that was checked when it was made."""
    from . import check
    results: list = []
    providers = check.providers_for(dtype)
    target, check_dtype = folder, dtype
    twin = None
    if providers is None:
        # This onnxruntime cannot run bf16 graphs (no CUDA provider): check a float32 build of the very same
        # graphs instead. The bf16 rounding itself is then not exercised.
        print(f"  onnxruntime has no CUDA provider: checking a float32 twin of the {dtype} graphs", flush=True)
        twin = folder.parent / (folder.name + ".fp32-twin")
        shutil.rmtree(twin, ignore_errors=True)
        if vae_only:
            raise RuntimeError("--reuse-from with bf16 weights: this onnxruntime cannot check bf16 graphs and the float32 twin "
                               "would rebuild all three graphs; run with onnxruntime-gpu, or pass --no-check")
        build_parts(twin, arch, sources, "fp32", OVERFLOW_SCALE[dtype], "fp32")
        target, check_dtype, providers = twin, "fp32", ["CPUExecutionProvider"]
    if check_dtype == "fp16" and providers[0] == "CPUExecutionProvider":
        print("  note: the CPU provider computes fp16 nodes in float32 (fp16 weights and rounding are checked, overflow is not)", flush=True)
    try:
        print(f"  checking against the reference on {providers[0]}", flush=True)
        if not vae_only:
            check.check_text_encoder(target / "text_encoder" / "model.onnx", arch.text_encoder, sources["text_encoder"], check_dtype,
                                     providers, results, sample_ids)
            check.check_transformer(target / "transformer" / "model.onnx", reference_src, arch.transformer, sources["transformer"],
                                    check_dtype, providers, results)
        check.check_vae(target / "vae_decoder" / "model.onnx", reference_src, arch.vae, sources["vae"], providers, results,
                        vae_dtype if twin is None else "fp32")
    finally:
        if twin is not None:
            shutil.rmtree(twin, ignore_errors=True)
    for r in results:
        r["checked_graph_dtype"] = check_dtype
    return results


def io_spec(arch: Architecture) -> dict:
    t, d, v = arch.text_encoder, arch.transformer, arch.vae
    return {
        "text_encoder": {
            "inputs": {"input_ids": {"dtype": "int64", "shape": [1, "sequence"]}},
            "outputs": {"hidden_states": {"dtype": "float32", "shape": [1, "sequence", t.hidden_size]}},
        },
        "transformer": {
            "inputs": {
                "latent": {"dtype": "float32", "shape": [1, d.in_channels, "latent_height", "latent_width"]},
                "timestep": {"dtype": "float32", "shape": [1]},
                "caption": {"dtype": "float32", "shape": ["caption_length", d.cap_feat_dim]},
            },
            "outputs": {"model_out": {"dtype": "float32", "shape": [1, d.in_channels, "latent_height", "latent_width"]}},
        },
        "vae_decoder": {
            "inputs": {"latent": {"dtype": "float32", "shape": [1, v.latent_channels, "latent_height", "latent_width"]}},
            "outputs": {"image": {"dtype": "float32", "shape": [1, v.out_channels, "image_height", "image_width"]}},
        },
    }


def manifest(arch: Architecture, dtype: str, vae_dtype: str, model_name: str, random_weights: bool, source: str, tokenizer: dict,
             counts: dict, checks: list, folder: Path) -> dict:
    t, d, v = arch.text_encoder, arch.transformer, arch.vae
    io = io_spec(arch)
    files = {}
    for part in ("text_encoder", "transformer", "vae_decoder"):
        files[part] = {
            "model": f"{part}/model.onnx",
            "external_data": f"{part}/model.onnx.data",
            "model_bytes": (folder / part / "model.onnx").stat().st_size,
            "external_data_bytes": (folder / part / "model.onnx.data").stat().st_size,
        }
    return {
        "format": "zimage-onnx",
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "random_weights": random_weights,
        "export": {
            "tool": "tools/export",
            "tool_version": TOOL_VERSION,
            "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": source,
            "onnx_opset": OPSET,
            "onnx_domains": ["ai.onnx", MS_DOMAIN],
            "attention_op": ATTENTION_OP,
            "checks": checks,
        },
        "dtypes": {
            "text_encoder": dtype,
            "transformer": dtype,
            "vae_decoder": vae_dtype,
            "io": "float32",
            "fp16_overflow_scale": OVERFLOW_SCALE[dtype],
        },
        "tokenizer": tokenizer,
        "text_encoder": {
            **files["text_encoder"],
            "inputs": io["text_encoder"]["inputs"],
            "outputs": io["text_encoder"]["outputs"],
            "vocab_size": t.vocab_size,
            "hidden_size": t.hidden_size,
            "layers_total": t.num_hidden_layers,
            "layers_exported": t.exported_layers,
            "num_attention_heads": t.num_attention_heads,
            "num_key_value_heads": t.num_key_value_heads,
            "head_dim": t.head_dim,
            "intermediate_size": t.intermediate_size,
            "rms_norm_eps": t.rms_norm_eps,
            "rope_theta": t.rope_theta,
            "parameters": counts["text_encoder"],
        },
        "transformer": {
            **files["transformer"],
            "inputs": io["transformer"]["inputs"],
            "outputs": io["transformer"]["outputs"],
            "output_meaning": "negated velocity: velocity = -model_out",
            "in_channels": d.in_channels,
            "patch_size": d.patch_size,
            "dim": d.dim,
            "n_layers": d.n_layers,
            "n_refiner_layers": d.n_refiner_layers,
            "n_heads": d.n_heads,
            "head_dim": d.head_dim,
            "ffn_hidden": d.ffn_hidden,
            "caption_dim": d.cap_feat_dim,
            "norm_eps": d.norm_eps,
            "t_scale": d.t_scale,
            "seq_multiple": SEQ_MULTI_OF,
            "rope_theta": d.rope_theta,
            "rope_axes_dims": d.axes_dims,
            "rope_axes_lens": d.axes_lens,
            "max_latent_side": 2 * d.axes_lens[1],
            "parameters": counts["transformer"],
        },
        "vae_decoder": {
            **files["vae_decoder"],
            "inputs": io["vae_decoder"]["inputs"],
            "outputs": io["vae_decoder"]["outputs"],
            "scaling_in_graph": True,
            "scaling_factor": v.scaling_factor,
            "shift_factor": v.shift_factor,
            "latent_channels": v.latent_channels,
            "scale_factor": v.scale_factor,
            "block_out_channels": v.block_out_channels,
            "output_range": "[-1, 1], not clamped",
            "parameters": counts["vae_decoder"],
        },
        "sampler": {
            "type": "flow_match_euler",
            "shift": arch.scheduler_shift,
            "dynamic_shifting": False,
            "num_train_timesteps": 1000,
            "default_steps": 8,
            "default_guidance": 0.0,
        },
        "image": {
            "size_multiple": v.scale_factor * d.patch_size,
            "latent_channels": v.latent_channels,
            "vae_scale_factor": v.scale_factor,
        },
    }


def tokenizer_entry(folder: Path, tokenizer_json: Path | None, tokenizer_config: Path | None, copy_json: bool) -> dict:
    tdir = folder / "tokenizer"
    tdir.mkdir(parents=True, exist_ok=True)
    entry = {
        "file": "tokenizer/tokenizer.json",
        "kind": "hf-tokenizers byte-level BPE (Qwen3)",
        "sha256": None,
        "max_tokens": 512,
        "truncation": "keep the first max_tokens ids of the templated prompt",
        "template_prefix": TEMPLATE_PREFIX,
        "template_suffix": TEMPLATE_SUFFIX,
        "add_bos": False,
        "pad_token_id": SPECIAL_IDS["endoftext"],
        "im_start_token_id": SPECIAL_IDS["im_start"],
        "im_end_token_id": SPECIAL_IDS["im_end"],
        "placed_by_build": not copy_json,
    }
    if tokenizer_json is not None:
        entry["sha256"] = sha256(tokenizer_json)
        if copy_json:
            shutil.copyfile(tokenizer_json, tdir / "tokenizer.json")
    if tokenizer_config is not None and tokenizer_config.exists():
        shutil.copyfile(tokenizer_config, tdir / "tokenizer_config.json")
        entry["config_file"] = "tokenizer/tokenizer_config.json"
    return entry


def export(out: Path, arch: Architecture, sources: dict, dtype: str, *, model_name: str, random_weights: bool, source: str,
           reference_src: Path | None, tokenizer_json: Path | None, tokenizer_config: Path | None, copy_tokenizer: bool = True,
           sample_ids=None, force: bool = False, vae_dtype: str = "fp32", reuse: Path | None = None) -> dict:
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"--out {out} exists and is not empty (pass --force to replace it)")
    for name, part in (("text_encoder", arch.text_encoder), ("transformer", arch.transformer), ("vae", arch.vae)):
        validate(name, sources[name], part.shapes())
    partial = out.parent / (out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if reuse is not None:
        check_reusable(reuse, dtype, source)
    print(f"building graphs ({dtype}, VAE {vae_dtype}) in {partial}", flush=True)
    counts = build_parts(partial, arch, sources, dtype, OVERFLOW_SCALE[dtype], vae_dtype, reuse)
    if reference_src is not None:
        checks = run_checks(partial, arch, sources, dtype, reference_src, sample_ids, vae_dtype, vae_only=reuse is not None)
    else:
        print("  WARNING: --no-check: the graphs were NOT compared with the reference implementation", flush=True)
        checks = []
    tok = tokenizer_entry(partial, tokenizer_json, tokenizer_config, copy_tokenizer)
    m = manifest(arch, dtype, vae_dtype, model_name, random_weights, source, tok, counts, checks, partial)
    m["architecture"] = arch.as_dict()
    (partial / "zimage.json").write_text(json.dumps(m, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    print(f"wrote {out}", flush=True)
    return m
