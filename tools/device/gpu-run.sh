#!/usr/bin/env bash
# The GPU-machine measurements, run by the device tool after the carry folders of ../shared/device arrived
# (make-carry.sh): one step per call, because one call may run at most 10 minutes. docs/performance.md has the
# exact sequence and what came out.
#   start-export  (with .carry/c4, .carry/convert-bench (dotnet build tools/convert-bench/bench.cs -o .carry/convert-bench)
#                 and .dev/zx/tok/tokenizer.json) writes the full-size random-weight bf16 checkpoint and converts it in
#                 the background with the C# installer: fp16 ($full), then again with an fp16 VAE decoder ($full16vae);
#                 /usr/bin/time -v records the install time and peak memory in /tmp/export.log. Disk: about 61 GB
#                 (checkpoint 20.5 GB + two folders of 20 GB), too close to the 64 GB of nvidia-h200: use nvidia-h200-x2
#   checks        (with .carry/c5 and .carry/app: the published ZImage.Tools (the studio inside it) without the ONNX Runtime libraries, models/, wwwroot/)
#                 ort-check MatMul on CPU and CUDA through the engine's adapter; the tiny model on CPU and CUDA
#   variants      (c5 + app) PNG encode on this machine's cores while the export runs; then, once it is written,
#                 one 1024x1024 bench per memory/speed lever (VARIANTS below), each in its own process
#   memory        (c5 + app) waits for both exports, then one 1024x1024 bench per memory lever (MEMORY_VARIANTS), each
#                 in its own process, with per-stage peaks; compares the fp16-VAE image with the fp32-VAE one
#   measure       the engine benchmark on CUDA (all sizes, counts 1 and 4, a 128-token prompt, first images
#                 saved) and the PyTorch reference timing of ../shared/reference, in the same call
# Results go to $OUT. Fetched reference code only ever lives in git-ignored folders (.dev/).
set -uo pipefail
step=${1:?usage: gpu-run.sh start-export|checks|variants|memory|measure}
app=".carry/app/ZImage.Tools.dll"
full=/tmp/full-fp16
full16vae=/tmp/full-fp16-vae16
zx=/tmp/zx

case "$step" in
start-export)
  rm -rf "$zx" && cp -r .dev/zx "$zx"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  bench="dotnet $PWD/.carry/convert-bench/bench.dll"
  (setsid nohup bash -c "$bench make /tmp/full-ckpt 36 30 $zx/tok/tokenizer.json \
      && /usr/bin/time -v $bench convert /tmp/full-ckpt $full fp16 fp32 \
      && /usr/bin/time -v $bench convert /tmp/full-ckpt $full16vae fp16 fp16" \
      > /tmp/export.log 2>&1 < /dev/null &)
  sleep 5; cat /tmp/export.log
  ;;
checks)
  source /tmp/carry/unpack.sh
  {
    echo "== ort-check (MatMul 1024, ONNX Runtime's managed API)"
    for p in cpu cuda; do
      echo "-- $p"; dotnet "$app" ort-check --provider "$p" --size 1024; echo "exit $?"
    done
    echo "== tiny self-test model, CPU vs CUDA"
    cp "$zx/tok/tokenizer.json" models/self-test-tiny/tokenizer/tokenizer.json
    for p in cpu cuda; do
      dotnet "$app" generate --model models/self-test-tiny --prompt "a lighthouse at dusk" --width 256 --height 256 \
        --seed 5 --provider "$p" --out "/tmp/tiny-$p.png"; echo "exit $?"
    done
    cmp /tmp/tiny-cpu.png /tmp/tiny-cuda.png && echo "tiny: CPU and CUDA PNGs identical" || echo "tiny: CPU and CUDA PNGs differ (expected within float tolerance)"
  } 2>&1 | tee "$OUT/checks.log"
  tail -3 /tmp/export.log
  ;;
variants)
  source /tmp/carry/unpack.sh
  dotnet "$app" bench --png-only --sizes 512,1024,1536 --runs 5 > "$OUT/png-bench.json" 2>&1
  echo "png bench exit $?"; head -6 "$OUT/png-bench.json"
  for i in $(seq 1 ${WAIT_S:-330}); do grep -q "^wrote\|Traceback\|Error" /tmp/export.log && break; sleep 1; done
  cp /tmp/export.log "$OUT/export.log"; du -sh "$full"/* >> "$OUT/export.log" 2>&1; tail -2 /tmp/export.log
  [ -f "$full/tokenizer/tokenizer.json" ] || cp "$zx/tok/tokenizer.json" "$full/tokenizer/tokenizer.json"
  same="--model $full --provider cuda --sizes 1024 --counts 1 --prompt-tokens 128"
  run_variant() { # name, then bench arguments
    local name=$1; shift
    timeout 120 dotnet "$app" bench $same "$@" --json "$OUT/var-$name.json" > /tmp/var-$name.log 2>&1
    echo "variant $name exit $?: $(grep -h '"peak_gpu_used_mib"\|"pipeline_total_ms"\|"vae_ms"\|"step_ms_median"\|"cold_start_s"' "$OUT/var-$name.json" 2>/dev/null | tr -d ' \n')"
    [ -f "$OUT/var-$name.json" ] || tail -5 /tmp/var-$name.log
  }
  run_variant same-as-requested --runs 2 --warmup 1 --provider-option arena_extend_strategy=kSameAsRequested
  run_variant init-no-arena --runs 2 --warmup 1 --provider-option arena_extend_strategy=kSameAsRequested \
      --session-config session.use_device_allocator_for_initializers=1
  run_variant sequential --runs 1 --warmup 0 --sequential --provider-option arena_extend_strategy=kSameAsRequested
  run_variant nhwc --runs 2 --warmup 1 --provider-option prefer_nhwc=1
  ;;
memory)
  source /tmp/carry/unpack.sh
  for i in $(seq 1 ${WAIT_S:-420}); do grep -q "^wrote $full16vae\|Traceback\|Error" /tmp/export.log && break; sleep 1; done
  cp /tmp/export.log "$OUT/export.log"; du -shL "$full"/* "$full16vae"/* >> "$OUT/export.log" 2>&1; tail -4 /tmp/export.log
  for f in "$full" "$full16vae"; do [ -f "$f/tokenizer/tokenizer.json" ] || cp "$zx/tok/tokenizer.json" "$f/tokenizer/tokenizer.json"; done
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
  mem_variant() { # name, model folder, then bench arguments
    local name=$1 model=$2; shift 2
    rm -rf "/tmp/save-$name"
    timeout ${VARIANT_TIMEOUT:-150} dotnet "$app" bench --model "$model" --provider cuda --sizes "${SIZES:-1024}" --counts "${COUNTS:-1}" \
        --prompt-tokens 128 --runs 2 --warmup 1 --save "/tmp/save-$name" --json "$OUT/mem-$name.json" "$@" > /tmp/mem-$name.log 2>&1
    echo "mem $name exit $?: $(tr -d ' \n' < "$OUT/mem-$name.json" 2>/dev/null | grep -o '"peak_gpu_used_mib":[0-9]*,"gpu_used_before_run_mib":[0-9]*,"gpu_used_after_run_mib":[0-9]*,"peak_gpu_used_mib_by_stage":{[^}]*}' | head -4)"
    tr -d ' \n' < "$OUT/mem-$name.json" 2>/dev/null | grep -o '"step_ms_median":[0-9.]*\|"vae_ms":[0-9.]*\|"pipeline_total_ms":[0-9.]*\|"non_finite_values":[0-9]*' | tr '\n' ' '; echo
    [ -f "$OUT/mem-$name.json" ] || tail -5 /tmp/mem-$name.log
  }
  # Since the memory call of 05:00 (docs/performance.md) the engine's CUDA defaults are kSameAsRequested arenas,
  # weights outside the arenas and cuDNN's default convolution workspace; "ortdefault" asks for ORT's own defaults.
  ortdefault="--provider-option arena_extend_strategy=kNextPowerOfTwo --provider-option cudnn_conv_use_max_workspace=1 \
      --session-config session.use_device_allocator_for_initializers=0"
  for v in ${MEMORY_VARIANTS:-ortdefault base lean vae16 lean-vae16 lean-vae16-x4}; do
    case $v in
      ortdefault) mem_variant ortdefault "$full" $ortdefault ;;
      base) mem_variant base "$full" ;;
      lean) mem_variant lean "$full" --lean ;;
      vae16) mem_variant vae16 "$full16vae" ;;
      lean-vae16) mem_variant lean-vae16 "$full16vae" --lean ;;
      lean-vae16-x4) COUNTS=4 mem_variant lean-vae16-x4 "$full16vae" --lean ;;
      heuristic) mem_variant heuristic "$full16vae" --lean --provider-option cudnn_conv_algo_search=HEURISTIC ;;
      nhwc) mem_variant nhwc "$full16vae" --lean --provider-option prefer_nhwc=1 ;;
    esac
  done
  python3 - /tmp/save-${BASE_IMAGE:-base}/bench-1024x1024-x1.png /tmp/save-vae16/bench-1024x1024-x1.png /tmp/save-${LEAN_IMAGE:-lean-vae16}/bench-1024x1024-x1.png <<'PY' 2>&1 | tee -a "$OUT/compare.log"
import sys, os, numpy as np
from PIL import Image
def load(p): return np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) if os.path.exists(p) else None
base, vae16, shrink = (load(p) for p in sys.argv[1:4])
for name, other in (("fp16 VAE", vae16), ("the memory options", shrink)):
    if base is None or other is None: print(f"{name}: image missing"); continue
    d = np.abs(base - other)
    print(f"{sys.argv[1]} vs {name}, 1024x1024 seed 1234: mean |diff| {d.mean():.3f} levels, max {d.max()}, "
          f"pixels off by >8 levels {(d.max(axis=2) > 8).mean() * 100:.2f}%, base mean {base.mean():.1f} std {base.std():.1f}")
PY
  ;;
measure)
  source /tmp/carry/unpack.sh
  rm -rf /tmp/save-cuda
  timeout ${BENCH_TIMEOUT:-240} dotnet "$app" bench --model "${MODEL:-$full}" --provider cuda --sizes "${SIZES:-512,1024,1536}" \
      --counts "${COUNTS:-1,4}" --runs "${RUNS:-3}" --warmup 1 --prompt-tokens 128 --save /tmp/save-cuda \
      --json "$OUT/bench-cuda.json" ${BENCH_ARGS:-} > "$OUT/bench-cuda.log" 2>&1
  echo "bench cuda exit $?"; grep "total" "$OUT/bench-cuda.log" | head -8
  if [ -n "${LEAN_TOO:-}" ]; then # the same sizes in lean residency, same call
    timeout ${BENCH_TIMEOUT:-240} dotnet "$app" bench --model "${MODEL:-$full}" --provider cuda --sizes "${SIZES:-512,1024,1536}" \
        --counts "${COUNTS:-1,4}" --runs "${RUNS:-3}" --warmup 1 --prompt-tokens 128 --lean --json "$OUT/bench-cuda-lean.json" \
        ${BENCH_ARGS:-} > /tmp/bench-lean.log 2>&1
    echo "bench cuda --lean exit $?"; grep "total" /tmp/bench-lean.log | head -8
  fi
  mkdir -p /tmp/stub && echo 'import logging; logger = logging.getLogger("loguru")' > /tmp/stub/loguru.py
  timeout ${TORCH_TIMEOUT:-180} python3 "${REF:-$zx/ref/torch_reference_timing.py}" "$zx/zsrc/src" /tmp/stub > "$OUT/torch-reference.json" 2>/tmp/torch.err
  echo "torch exit $?"; tail -3 /tmp/torch.err
  ;;
*) echo "unknown step $step" >&2; exit 2 ;;
esac
