#!/usr/bin/env bash
# Installs the CUDA execution provider of ONNX Runtime 1.29.0 beside the core library, so that
# InferenceSessionOptions { Provider = ExecutionProvider.Cuda } works.
#
#   tools/install-cuda-provider.sh [TARGET_DIR]
#
# TARGET_DIR is the folder that holds libonnxruntime.so.1; it defaults to $ZIMAGE_ORT_DIR, else to the build's
# cache (${ZIMAGE_CACHE:-~/.cache/zimage}/onnxruntime/1.29.0), which every build copies into <output>/native/.
# After installing into the cache, rebuild (or copy the two files into <output>/native/ yourself), or point
# ZIMAGE_ORT_DIR / ZImage:Engine:OnnxRuntimeDirectory at TARGET_DIR.
#
# Source: npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (about 230 MB), a repackaging of the official
# ONNX Runtime 1.29.0 Linux GPU build (CUDA 13, cuDNN 9). Only two files are taken from it:
#   Plugins/Linux/x64/libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so
# The package is downloaded once into the cache; later runs only copy.
# The CUDA 13 runtime (libcudart, libcublas, libcublasLt, libcufft) and cuDNN 9 must be installed on the machine
# (e.g. apt packages cuda-runtime-13-0 / libcublas-13-0 / libcudnn9-cuda-13, or pip nvidia-* wheels on LD_LIBRARY_PATH).
set -euo pipefail

package=com.github.asus4.onnxruntime.linux-x64-gpu
package_version=0.4.9
cache_root="${ZIMAGE_CACHE:-$HOME/.cache/zimage}"
cache_dir="$cache_root/onnxruntime/1.29.0"
provider_cache="$cache_dir/cuda-provider"
target="${1:-${ZIMAGE_ORT_DIR:-$cache_dir}}"
files=(libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so)

if ! command -v npm >/dev/null 2>&1; then
  echo "install-cuda-provider: npm (Node.js) is needed to fetch $package@$package_version: apt-get install npm" >&2
  exit 1
fi

if [[ ! -f "$provider_cache/${files[0]}" || ! -f "$provider_cache/${files[1]}" ]]; then
  staging="$(mktemp -d "$cache_dir.staging.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  echo "install-cuda-provider: fetching $package@$package_version (about 230 MB, once)"
  npm pack "$package@$package_version" --silent --pack-destination "$staging" >/dev/null
  tar -xzf "$staging/$package-$package_version.tgz" -C "$staging" \
    "package/Plugins/Linux/x64/${files[0]}" "package/Plugins/Linux/x64/${files[1]}"
  mkdir -p "$provider_cache"
  for f in "${files[@]}"; do mv -f "$staging/package/Plugins/Linux/x64/$f" "$provider_cache/$f"; done
fi

mkdir -p "$target"
for f in "${files[@]}"; do cp -f "$provider_cache/$f" "$target/$f"; done
if [[ ! -f "$target/libonnxruntime.so.1" ]]; then
  echo "install-cuda-provider: note: $target has no libonnxruntime.so.1 yet; build the solution or copy it there." >&2
fi
echo "install-cuda-provider: installed ${files[*]} into $target"
