#!/usr/bin/env bash
# The GPU-machine measurements, run by the device tool after the carry folders of ../shared/device arrived
# (make-carry.sh): one step per call, because one call may run at most 10 minutes.
#   start-export  (with .carry/c4 and .dev/zx: the export tool, the official src, tokenizer.json)
#                 starts the full-size random-weight fp16 export in the background (about 5 minutes)
#   checks        (with .carry/c5 and .carry/app: the published app without native/, models/, wwwroot/)
#                 ort-check MatMul on CPU, CUDA and WebGPU through our binding; the tiny model on CPU and CUDA
#   measure       waits for the export, generates a 1024x1024 PNG on CUDA, runs the engine benchmark on CUDA and
#                 WebGPU, and the PyTorch reference timing of ../shared/reference in the same call
# Results go to $OUT. Fetched reference code only ever lives in git-ignored folders (.dev/).
set -uo pipefail
step=${1:?usage: gpu-run.sh start-export|checks|measure}
app=".carry/app/ZImage.Web.dll"
full=/tmp/full-fp16
zx=/tmp/zx

case "$step" in
start-export)
  rm -rf "$zx" && cp -r .dev/zx "$zx"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  (cd "$zx" && PYTHONPATH=$zx PYTHONUNBUFFERED=1 setsid nohup python3 -m tools.export --random-full --out "$full" \
      --dtype fp16 --no-check --tokenizer "$zx/tok/tokenizer.json" > /tmp/export.log 2>&1 < /dev/null &)
  sleep 5; cat /tmp/export.log
  ;;
checks)
  source /tmp/carry/unpack.sh
  {
    echo "== ort-check (MatMul 1024, our C-API binding)"
    for p in cpu cuda webgpu; do
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
measure)
  source /tmp/carry/unpack.sh
  for i in $(seq 1 100); do grep -q "written\|Traceback\|Error" /tmp/export.log && break; sleep 3; done
  cp /tmp/export.log "$OUT/export.log"; du -sh "$full"/* >> "$OUT/export.log" 2>&1
  [ -f "$full/tokenizer/tokenizer.json" ] || cp "$zx/tok/tokenizer.json" "$full/tokenizer/tokenizer.json"
  {
    echo "== generate 1024x1024 on CUDA, full-size fp16 random weights"
    /usr/bin/time -v dotnet "$app" generate --model "$full" --prompt "a red fox in the snow at golden hour" \
      --width 1024 --height 1024 --seed 42 --provider cuda --out "$OUT/full-1024-cuda.png" --verbose 2>&1 \
      | grep -v "^\s*\(Average\|Exit status\|Page size\|Socket\|Signals\|Swaps\|File system\|Voluntary\|Involuntary\|Minor\|Major\|Percent\)"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader
  } 2>&1 | tee "$OUT/generate.log"
  timeout 420 dotnet "$app" bench --model "$full" --provider cuda --sizes "${SIZES:-512,1024,1536}" --counts "${COUNTS:-1,4}" \
      --runs "${RUNS:-3}" --warmup 1 --json "$OUT/bench-cuda.json" ${BENCH_ARGS:-} > /tmp/bench-cuda.log 2>&1
  echo "bench cuda exit $?"; tail -5 /tmp/bench-cuda.log
  mkdir -p /tmp/stub && echo 'import logging; logger = logging.getLogger("loguru")' > /tmp/stub/loguru.py
  timeout 240 python3 "${REF:-$zx/ref/torch_reference_timing.py}" "$zx/zsrc/src" /tmp/stub > "$OUT/torch-reference.json" 2>/tmp/torch.err
  echo "torch exit $?"; tail -3 /tmp/torch.err
  ;;
webgpu)
  source /tmp/carry/unpack.sh
  timeout 400 dotnet "$app" bench --model "$full" --provider webgpu --sizes 1024 --counts 1 --runs 2 --warmup 1 \
      --json "$OUT/bench-webgpu.json" > /tmp/bench-webgpu.log 2>&1
  echo "bench webgpu exit $?"; tail -20 /tmp/bench-webgpu.log
  dotnet "$app" generate --model "$full" --prompt "a red fox in the snow at golden hour" --width 1024 --height 1024 \
      --seed 42 --provider webgpu --out "$OUT/full-1024-webgpu.png" 2>&1 | tail -5
  python3 - "$OUT/full-1024-cuda.png" "$OUT/full-1024-webgpu.png" <<'PY'
import sys, numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in sys.argv[1:3])
d = np.abs(a - b)
print(f"CUDA vs WebGPU 1024x1024: mean |diff| {d.mean():.3f} levels, max {d.max()}, pixels off by >8 levels {(d.max(axis=2) > 8).mean() * 100:.2f}%")
PY
  ;;
*) echo "unknown step $step" >&2; exit 2 ;;
esac
