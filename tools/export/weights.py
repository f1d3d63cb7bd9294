"""Weight sources: a diffusers-layout checkpoint folder read tensor by tensor (memory-mapped safetensors,
no torch needed), or seeded random weights generated tensor by tensor (--tiny, --random-full).

Every source hands out float32 numpy arrays one tensor at a time, so a 6B-parameter model never has to
sit in memory as a whole.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.uint16, 2), "F64": (np.float64, 8)}


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """Round to nearest even, as torch does when casting float32 to bfloat16."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((u >> 16) & 1) + np.uint32(0x7FFF)
    out = ((u + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = 0x7FC0
    return out


class SafetensorsFile:
    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        self.base = 8 + n
        header.pop("__metadata__", None)
        self.entries = header

    def get(self, name: str) -> np.ndarray:
        e = self.entries[name]
        if e["dtype"] not in _DTYPES:
            raise ValueError(f"{self.path}: tensor {name} has unsupported dtype {e['dtype']}")
        np_type, size = _DTYPES[e["dtype"]]
        start, end = e["data_offsets"]
        count = (end - start) // size
        mm = np.memmap(self.path, dtype=np_type, mode="r", offset=self.base + start, shape=(count,))
        arr = np.array(mm).reshape(e["shape"])
        del mm
        if e["dtype"] == "BF16":
            return bf16_bits_to_f32(arr)
        return arr.astype(np.float32, copy=False)


class CheckpointPart:
    """One component folder of a diffusers-layout checkpoint (transformer/, text_encoder/, vae/)."""

    def __init__(self, folder: Path, strip_prefix: str = ""):
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"missing folder {folder}")
        index = sorted(folder.glob("*.safetensors.index.json"))
        if index:
            weight_map = json.loads(index[0].read_text())["weight_map"]
            files = {f: SafetensorsFile(folder / f) for f in sorted(set(weight_map.values()))}
            self._where = {k: files[f] for k, f in weight_map.items()}
        else:
            st = sorted(folder.glob("*.safetensors"))
            if not st:
                raise FileNotFoundError(f"no .safetensors files in {folder}")
            self._where = {}
            for p in st:
                sf = SafetensorsFile(p)
                for k in sf.entries:
                    self._where[k] = sf
        self.folder = folder
        self._prefix = strip_prefix
        if strip_prefix and any(k.startswith(strip_prefix) for k in self._where):
            self._names = {k[len(strip_prefix):]: k for k in self._where if k.startswith(strip_prefix)}
        else:
            self._names = {k: k for k in self._where}

    def keys(self):
        return self._names.keys()

    def shape(self, name: str) -> tuple[int, ...]:
        raw = self._names[name]
        return tuple(self._where[raw].entries[raw]["shape"])

    def get(self, name: str) -> np.ndarray:
        raw = self._names[name]
        return self._where[raw].get(raw)


def validate(part_name: str, source, expected: dict[str, tuple[int, ...]]) -> None:
    """Names every missing or mis-shaped tensor at once; extra tensors (encoder, lm_head, last layer) are fine."""
    have = set(source.keys())
    missing = [k for k in expected if k not in have]
    wrong = [f"{k}: expected {list(s)}, found {list(source.shape(k))}" for k, s in expected.items()
             if k in have and tuple(source.shape(k)) != tuple(s)]
    if missing or wrong:
        lines = [f"{part_name}: checkpoint does not match the architecture in its config.json"]
        if missing:
            lines.append(f"  {len(missing)} missing tensors, e.g. " + ", ".join(missing[:8]))
        lines += ["  " + w for w in wrong[:8]]
        raise ValueError("\n".join(lines))


def _seed_for(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) & 0xFFFFFFFF


def random_tensor(seed: int, name: str, shape: tuple[int, ...], fast: bool = False) -> np.ndarray:
    """Seeded per tensor name, so the same name always gets the same values whatever else is generated.

    Scales keep activations of order 1 through every layer (a test of nothing if everything were ~0):
    norm weights near 1, biases small, matrices ~ 1/sqrt(fan_in), embeddings and pad tokens ~ 1.
    """
    rng = np.random.default_rng(_seed_for(seed, name))
    if fast:
        # Uniform with the same standard deviation: ~10x quicker than normals for the 10 B weights of --random-full.
        def normal(shape):
            return (rng.random(shape, dtype=np.float32) - np.float32(0.5)) * np.float32(np.sqrt(12.0))
    else:
        def normal(shape):
            return rng.standard_normal(shape)
    leaf = name.rsplit(".", 1)[-1]
    norm_like = any(t in name for t in ("norm", "cap_embedder.0")) and leaf == "weight"
    if norm_like:
        return (1.0 + 0.1 * normal(shape)).astype(np.float32)
    if leaf == "bias" and "norm" in name:
        return (0.1 * normal(shape)).astype(np.float32)
    if leaf == "bias":
        return (0.05 * normal(shape)).astype(np.float32)
    if len(shape) == 1 or name.endswith("pad_token") or "embed_tokens" in name:
        return normal(shape).astype(np.float32)
    fan_in = int(np.prod(shape[1:]))
    return (normal(shape) / np.sqrt(fan_in)).astype(np.float32)


class RandomPart:
    """Seeded random weights; prefix (the part name) enters each tensor's seed, as in the --tiny checkpoint."""

    def __init__(self, prefix: str, shapes: dict[str, tuple[int, ...]], seed: int, fast: bool = False):
        self._prefix = prefix
        self._fast = fast
        self._shapes = dict(shapes)
        self._seed = seed

    def keys(self):
        return self._shapes.keys()

    def shape(self, name: str) -> tuple[int, ...]:
        return self._shapes[name]

    def get(self, name: str) -> np.ndarray:
        return random_tensor(self._seed, self._prefix + name, self._shapes[name], self._fast)


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """float32 safetensors writer (used to lay out the --tiny checkpoint without torch)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k], dtype=np.float32)
        b = a.tobytes()
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
