#!/usr/bin/env bash
# Fetches a CUDA-capable ONNX Runtime from npm registry packages (no install
# scripts run), checks every file's sha256 and puts them side by side in one
# folder, where the core finds its provider libraries:
#
#   libonnxruntime.so.1                   onnxruntime-node 1.29.0: a core built
#                                         with the CUDA provider interface
#   libonnxruntime_providers_shared.so    com.github.asus4.onnxruntime.linux-x64-gpu
#   libonnxruntime_providers_cuda.so      0.4.9: the provider libraries of the
#   libonnxruntime_providers_tensorrt.so  ONNX Runtime 1.29.0 GPU release (CUDA 13)
#
# The provider libraries need the CUDA 13 user-space libraries (cuBLAS,
# cudart, cuRAND, cuDNN 9, cuFFT) on LD_LIBRARY_PATH: docs/gpu.md.
# Idempotent: files already there with the right checksums are left alone.
set -euo pipefail

dest=${1:-.cache/ort-gpu}
core_pkg=onnxruntime-node@1.29.0
core_member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
gpu_pkg=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
gpu_dir=package/Plugins/Linux/x64
declare -A want=(
  [libonnxruntime.so.1]=89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d
  [libonnxruntime_providers_shared.so]=c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772
  [libonnxruntime_providers_cuda.so]=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
  [libonnxruntime_providers_tensorrt.so]=ef6071798a339038ad66c428fb1a809cf8e499bffc3b6870e4e8bc4f4c6a6320
)

ok() { [[ -f "$dest/$1" ]] && echo "${want[$1]}  $dest/$1" | sha256sum --check --status; }
missing=0
for f in "${!want[@]}"; do ok "$f" || missing=1; done
if [[ $missing == 0 ]]; then
  touch "$dest/libonnxruntime_providers_cuda.so" # newer than this script: make's target is done
  echo "onnx runtime gpu: $dest (sha256 ok)"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-ort-gpu: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$core_pkg" "$gpu_pkg" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" "$core_member"
mv "$tmp/$core_member" "$tmp/libonnxruntime.so.1"
tar -xzf "$tmp"/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C "$tmp" \
  "$gpu_dir/libonnxruntime_providers_shared.so" "$gpu_dir/libonnxruntime_providers_cuda.so" \
  "$gpu_dir/libonnxruntime_providers_tensorrt.so"
mv "$tmp/$gpu_dir"/*.so "$tmp/"
for f in "${!want[@]}"; do
  if ! echo "${want[$f]}  $tmp/$f" | sha256sum --check --status; then
    echo "fetch-ort-gpu: sha256 of $f does not match ${want[$f]}" >&2
    exit 1
  fi
done
mkdir -p "$dest"
for f in "${!want[@]}"; do
  mv "$tmp/$f" "$dest/$f.partial"
  mv "$dest/$f.partial" "$dest/$f"
done
touch "$dest/libonnxruntime_providers_cuda.so"
echo "onnx runtime gpu: $dest (sha256 ok)"
