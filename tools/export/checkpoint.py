"""A diffusers-layout checkpoint part (transformer/, text_encoder/, vae/) read with the safetensors package, one
tensor at a time, as float32 numpy arrays: the weights the reference modules are built from."""

from __future__ import annotations

import json
from pathlib import Path


class Part:
    def __init__(self, folder: Path, strip_prefix: str = ""):
        from safetensors import safe_open

        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"missing folder {folder}")
        index = sorted(folder.glob("*.safetensors.index.json"))
        if index:
            files = sorted(set(json.loads(index[0].read_text(encoding="utf-8"))["weight_map"].values()))
        else:
            files = [p.name for p in sorted(folder.glob("*.safetensors"))]
        if not files:
            raise FileNotFoundError(f"no .safetensors files in {folder}")
        # framework "pt": numpy has no bfloat16, torch widens it exactly
        self._handles = {f: safe_open(str(folder / f), framework="pt") for f in files}
        self._where = {k: f for f, h in self._handles.items() for k in h.keys()}
        if strip_prefix and any(k.startswith(strip_prefix) for k in self._where):
            self._names = {k[len(strip_prefix):]: k for k in self._where if k.startswith(strip_prefix)}
        else:
            self._names = {k: k for k in self._where}

    def keys(self):
        return self._names.keys()

    def get(self, name: str):
        raw = self._names[name]
        return self._handles[self._where[raw]].get_tensor(raw).float().numpy()


def read_config(checkpoint: Path, part: str) -> dict:
    return json.loads((Path(checkpoint) / part / "config.json").read_text(encoding="utf-8"))
