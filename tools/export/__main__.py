"""python -m tools.export: check a model folder that the C# installer built against the official PyTorch code.

  --checkpoint DIR      the checkpoint the folder was installed from (diffusers layout, as downloaded)
  --model DIR           the model folder (docs/model-format.md), e.g. from `install-model --from DIR --out DIR`
  --reference-src SRC   the official Tongyi-MAI/Z-Image src/ folder
  --record              write the results into the folder's zimage.json (export.checks)

The graphs themselves are built by the C# installer only (ZImage.Engine/Models/Install); this tool needs PyTorch
and exists to compare them with the reference implementation. Exit status 1 when a part is over tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import check
from .checkpoint import Part, read_config

TEMPLATE_PREFIX = "<|im_start|>user\n"
TEMPLATE_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n"


def sample_ids(tokenizer_json: Path):
    if not tokenizer_json.is_file():
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return None
    tok = Tokenizer.from_file(str(tokenizer_json))
    return tok.encode(TEMPLATE_PREFIX + "A red fox in the snow, 雪地里的红狐狸 🦊" + TEMPLATE_SUFFIX, add_special_tokens=False).ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="checkpoint folder (diffusers layout) the model was installed from")
    ap.add_argument("--model", type=Path, required=True, help="model folder written by the C# installer")
    ap.add_argument("--reference-src", type=Path, required=True, help="the official Tongyi-MAI/Z-Image src/ folder")
    ap.add_argument("--record", action="store_true", help="store the results in the folder's zimage.json (export.checks)")
    a = ap.parse_args(argv)

    manifest_path = a.model / "zimage.json"
    if not manifest_path.is_file():
        ap.error(f"--model {a.model}: no zimage.json there")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    dtype = manifest["dtypes"]["transformer"]
    vae_dtype = manifest["dtypes"].get("vae_decoder", "fp32")
    providers = check.providers_for(dtype)
    if providers is None:
        ap.error(f"the folder holds {dtype} graphs, which need onnxruntime-gpu (the CPU provider has no bf16 kernels)")
    vae_providers = check.providers_for(vae_dtype)
    if dtype == "fp16" and providers[0] == "CPUExecutionProvider":
        print("note: the CPU provider computes fp16 nodes in float32 (fp16 weights and rounding are checked, overflow is not)", flush=True)

    ckpt = a.checkpoint
    results: list = []
    print(f"checking {a.model} ({dtype}, VAE {vae_dtype}) against the reference on {providers[0]}", flush=True)
    try:
        check.check_text_encoder(a.model / "text_encoder" / "model.onnx", read_config(ckpt, "text_encoder"),
                                 Part(ckpt / "text_encoder", strip_prefix="model."), dtype, providers, results,
                                 sample_ids(ckpt / "tokenizer" / "tokenizer.json"))
        check.check_transformer(a.model / "transformer" / "model.onnx", a.reference_src, read_config(ckpt, "transformer"),
                                Part(ckpt / "transformer"), dtype, providers, results)
        check.check_vae(a.model / "vae_decoder" / "model.onnx", a.reference_src, read_config(ckpt, "vae"), Part(ckpt / "vae"),
                        vae_providers, results, vae_dtype)
    except AssertionError as e:
        print(f"FAILED: {e}", flush=True)
        return 1
    if a.record:
        for r in results:
            r["checked_graph_dtype"] = r["dtype"]
        manifest["export"]["checks"] = results
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {len(results)} checks in {manifest_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
