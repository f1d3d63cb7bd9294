"""Numerical check of each graph of a model folder (built by the C# installer) against the reference torch module
with the same weights. Prints max abs / relative error; raises when over tolerance."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np

# max|onnx - torch| / max|torch| allowed, by the dtype the graph computes in
TOLERANCE = {"fp32": 2e-4, "fp16": 3e-2, "bf16": 8e-2}


def providers_for(dtype: str) -> list[str] | None:
    """Providers that can run a graph of this dtype, or None when this onnxruntime cannot. The CPU provider runs
    fp16 graphs by inserting casts to float32 around the nodes it has no fp16 kernel for (so fp16 overflow is
    not exercised there); it has no bf16 MatMul at all."""
    import onnxruntime as ort
    avail = ort.get_available_providers()
    if "CUDAExecutionProvider" in avail:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return None if dtype == "bf16" else ["CPUExecutionProvider"]


def _session(path: Path, providers):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=providers)


def compare(name: str, got: np.ndarray, ref: np.ndarray, dtype: str, results: list) -> None:
    if got.shape != ref.shape:
        raise AssertionError(f"{name}: shape {got.shape} != reference {ref.shape}")
    if not np.isfinite(got).all():
        raise AssertionError(f"{name}: output has NaN/Inf")
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    scale = float(np.abs(ref).max())
    max_abs = float(err.max())
    rel = max_abs / max(scale, 1e-12)
    mean_abs = float(err.mean())
    ok = rel <= TOLERANCE[dtype]
    line = f"  {name:<40} max_abs {max_abs:.3e}  mean_abs {mean_abs:.3e}  max|ref| {scale:.3e}  rel {rel:.3e}  {'ok' if ok else 'FAIL'}"
    print(line, flush=True)
    results.append({"part": name, "max_abs": max_abs, "mean_abs": mean_abs, "max_ref": scale, "rel": rel, "dtype": dtype, "ok": ok})
    if not ok:
        raise AssertionError(f"{name}: ONNX output differs from the reference (rel {rel:.3e} > {TOLERANCE[dtype]:.0e})")


def check_text_encoder(path: Path, cfg: dict, src, dtype: str, providers, results: list, sample_ids: list[int] | None = None):
    import torch
    from .reference import text_encoder_module
    ref = text_encoder_module(cfg, src)
    rng = np.random.default_rng(1)
    cases = []
    if sample_ids:
        cases.append(("text_encoder prompt", np.array([sample_ids], np.int64)))
    cases.append(("text_encoder random ids", rng.integers(0, cfg["vocab_size"], size=(1, 37)).astype(np.int64)))
    with torch.no_grad():
        wants = [ref(input_ids=torch.from_numpy(ids), output_hidden_states=True).hidden_states[-2].numpy() for _, ids in cases]
    del ref  # the reference and the session of a 4B model need not be in memory together
    gc.collect()
    sess = _session(path, providers)
    for (name, ids), want in zip(cases, wants):
        got = sess.run(["hidden_states"], {"input_ids": ids})[0]
        compare(f"{name} (L={ids.shape[1]})", got, want, dtype, results)


def check_transformer(path: Path, ref_src: Path, cfg: dict, src, dtype: str, providers, results: list):
    import torch
    from .reference import dit_module
    ref = dit_module(ref_src, cfg, src)
    in_channels, cap_dim = cfg.get("in_channels", 16), cfg.get("cap_feat_dim", 2560)
    gen = torch.Generator().manual_seed(2)
    # (latent h, w, caption length, timestep): the first pads image (48 -> 64) and caption (21 -> 32),
    # the second needs no padding at all (64 image tokens, 32 caption tokens).
    cases = []
    for h, w, lc, tv in [(12, 16, 21, 0.3), (16, 16, 32, 0.85)]:
        lat = torch.randn(1, in_channels, h, w, generator=gen)
        cap = torch.randn(lc, cap_dim, generator=gen)
        t = torch.tensor([tv], dtype=torch.float32)
        with torch.no_grad():
            want = ref([lat[0].unsqueeze(1)], t, [cap])[0][0].squeeze(1).unsqueeze(0).numpy()
        cases.append((f"transformer {h}x{w} latent, {lc} caption", lat.numpy(), t.numpy(), cap.numpy(), want))
    del ref
    gc.collect()
    sess = _session(path, providers)
    for name, lat, t, cap, want in cases:
        got = sess.run(["model_out"], {"latent": lat, "timestep": t, "caption": cap})[0]
        compare(name, got, want, dtype, results)


def check_vae(path: Path, ref_src: Path, cfg: dict, src, providers, results: list, dtype: str = "fp32"):
    import torch
    from .reference import vae_module
    ref = vae_module(ref_src, cfg, src)
    gen = torch.Generator().manual_seed(3)
    lat = torch.randn(1, cfg.get("latent_channels", 16), 6, 10, generator=gen)
    with torch.no_grad():
        want = ref.decode(lat / cfg.get("scaling_factor", 0.3611) + (cfg.get("shift_factor") or 0.0), return_dict=False)[0].numpy()
    got = _session(path, providers).run(["image"], {"latent": lat.numpy()})[0]
    compare("vae_decoder 6x10 latent", got, want, dtype, results)
