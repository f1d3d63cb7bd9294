"""A small ONNX graph builder that streams weights into the external-data file as they are added, so a
12 GB transformer never has to be held as one protobuf (which is capped at 2 GB anyway).

Only onnx.helper and TensorProto are used (works with onnx 1.12 and later).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from .weights import f32_to_bf16_bits

OPSET = 17
MS_DOMAIN = "com.microsoft"
IR_VERSION = 8  # opset 17; read by ONNX Runtime 1.14 and later

ONNX_TYPE = {"fp32": TensorProto.FLOAT, "fp16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}
EMBED_LIMIT = 1024  # bytes; smaller tensors live inside model.onnx


def to_bytes(arr: np.ndarray, dtype: str) -> bytes:
    if dtype == "fp32":
        return np.ascontiguousarray(arr, dtype=np.float32).tobytes()
    if dtype == "fp16":
        a = np.ascontiguousarray(arr, dtype=np.float32)
        if np.isfinite(a).all() and np.abs(a).max(initial=0) > 65504:
            raise ValueError("a weight does not fit in fp16 (|w| > 65504)")
        return a.astype(np.float16).tobytes()
    if dtype == "bf16":
        return f32_to_bf16_bits(arr).tobytes()
    raise ValueError(dtype)


class Graph:
    def __init__(self, name: str, folder: Path, data_name: str = "model.onnx.data"):
        self.name = name
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data_name = data_name
        self._data = open(self.folder / data_name, "wb")
        self._offset = 0
        self.nodes: list = []
        self.inits: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._n = 0
        self._consts: dict = {}
        self.param_count = 0

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    # ---- tensors
    def _init(self, name: str, arr: np.ndarray, dtype: str) -> str:
        raw = to_bytes(arr, dtype)
        t = TensorProto()
        t.name = name
        t.data_type = ONNX_TYPE[dtype]
        t.dims.extend(list(arr.shape))
        if len(raw) <= EMBED_LIMIT:
            t.raw_data = raw
        else:
            align = 4096 if len(raw) >= 65536 else 64
            pad = (-self._offset) % align
            if pad:
                self._data.write(b"\0" * pad)
                self._offset += pad
            self._data.write(raw)
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", self.data_name), ("offset", str(self._offset)), ("length", str(len(raw)))):
                e = t.external_data.add()
                e.key, e.value = k, v
            self._offset += len(raw)
        self.inits.append(t)
        return name

    def weight(self, name: str, arr: np.ndarray, dtype: str = "fp32") -> str:
        self.param_count += int(np.prod(arr.shape))
        return self._init(name, arr, dtype)

    def const(self, value, dtype: str = "fp32", hint: str = "c") -> str:
        arr = np.asarray(value)
        if arr.dtype.kind in "iu":
            key = ("i64", arr.shape, arr.astype(np.int64).tobytes())
            if key in self._consts:
                return self._consts[key]
            name = self.fresh(hint)
            t = helper.make_tensor(name, TensorProto.INT64, list(arr.shape), arr.astype(np.int64).flatten().tolist())
            self.inits.append(t)
        else:
            key = (dtype, arr.shape, arr.astype(np.float32).tobytes())
            if key in self._consts:
                return self._consts[key]
            name = self._init(self.fresh(hint), arr.astype(np.float32), dtype)
        self._consts[key] = name
        return name

    # ---- nodes
    def op(self, op_type: str, inputs, outputs: int = 1, domain: str | None = None, hint: str | None = None, **attrs):
        outs = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        node = helper.make_node(op_type, list(inputs), outs, name=self.fresh("n_" + op_type), domain=domain, **attrs)
        self.nodes.append(node)
        return outs[0] if outputs == 1 else outs

    def input(self, name: str, elem: int, shape: list) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name

    def output(self, src: str, name: str, elem: int, shape: list) -> None:
        self.nodes.append(helper.make_node("Identity", [src], [name], name=self.fresh("n_out")))
        self.outputs.append(helper.make_tensor_value_info(name, elem, shape))

    def save(self, producer_version: str, metadata: dict | None = None) -> Path:
        self._data.close()
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)],
            producer_name="zimage-export",
            producer_version=producer_version,
        )
        model.ir_version = IR_VERSION
        for k, v in (metadata or {}).items():
            p = model.metadata_props.add()
            p.key, p.value = k, str(v)
        path = self.folder / "model.onnx"
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        # Structure check without loading external weights into memory.
        onnx.checker.check_model(str(path))
        return path


class Ops:
    """Layer helpers over a Graph. Activations the C# side never sees are float32 unless a helper says so."""

    def __init__(self, g: Graph, dtype: str):
        self.g = g
        self.dtype = dtype  # weight/compute type of the large matmuls and attention

    # casts between float32 (norms, residual stream, RoPE) and the compute type
    def to_compute(self, x: str) -> str:
        return x if self.dtype == "fp32" else self.g.op("Cast", [x], to=ONNX_TYPE[self.dtype])

    def to_f32(self, x: str) -> str:
        return x if self.dtype == "fp32" else self.g.op("Cast", [x], to=TensorProto.FLOAT)

    def linear(self, x: str, name: str, w: np.ndarray, b: np.ndarray | None = None, dtype: str = "fp32",
               scale: float = 1.0) -> str:
        """x @ w.T (+ b). w is [out, in] as torch stores it; the graph keeps w.T."""
        wt = np.ascontiguousarray(w.T) * np.float32(scale) if scale != 1.0 else np.ascontiguousarray(w.T)
        y = self.g.op("MatMul", [x, self.g.weight(name + ".weight", wt, dtype)], hint="mm")
        if b is not None:
            bb = b * np.float32(scale) if scale != 1.0 else b
            y = self.g.op("Add", [y, self.g.weight(name + ".bias", bb, dtype)], hint="add")
        return y

    def rms_norm(self, x: str, name: str, w: np.ndarray, eps: float) -> str:
        """float32 x * 1/sqrt(mean(x^2) + eps) * w; the Pow/ReduceMean/Add/Sqrt/Div/Mul pattern is the one ONNX
        Runtime fuses into SimplifiedLayerNormalization."""
        g = self.g
        sq = g.op("Pow", [x, g.const(np.array(2.0, np.float32))])
        ms = g.op("ReduceMean", [sq], axes=[-1], keepdims=1)
        den = g.op("Sqrt", [g.op("Add", [ms, g.const(np.array(eps, np.float32))])])
        y = g.op("Div", [x, den])
        return g.op("Mul", [y, g.weight(name + ".weight", w.astype(np.float32))])

    def silu(self, x: str) -> str:
        return self.g.op("Mul", [x, self.g.op("Sigmoid", [x])])

    def mha(self, q: str, k: str, v: str, heads: int, bias: str | None = None) -> str:
        """com.microsoft.MultiHeadAttention on [1, S, heads*head_dim] inputs, default scale 1/sqrt(head_dim)."""
        inputs = [q, k, v]
        if bias is not None:
            inputs += ["", "", bias]
        return self.g.op("MultiHeadAttention", inputs, domain=MS_DOMAIN, num_heads=heads, hint="attn")

    def shape_dim(self, x: str, axis: int) -> str:
        """A 1-element int64 tensor holding x.shape[axis]."""
        s = self.g.op("Shape", [x])
        return self.g.op("Gather", [s, self.g.const(np.array([axis], np.int64))])
