#!/usr/bin/env bash
# GPU benchmark: PyTorch eager vs groundbeam's ONNX Runtime path, same run,
# same machine. See bench/gpu/README.md for what it measures and the
# `groundbeam bench-session` contract it relies on.
#
#   bench/gpu/run.sh [OUT]
#
# Environment:
#   PYTHON          python with torch (CUDA), transformers, onnx (default python3)
#   GROUNDBEAM      a groundbeam binary to use (default: go build one)
#   GROUNDBEAM_ORT_LIB  the ONNX Runtime the Go side loads (default: .cache/ort-gpu's,
#                   which make deps fetches: a core with the CUDA provider interface)
#   ORT_EP_LIB      a plugin execution-provider library, passed as --ort-ep-lib (optional;
#                   by default the provider library beside the core is used)
#   LD_LIBRARY_PATH must reach the CUDA 13 libraries; when it does not, the folders of
#                   torch's nvidia packages are added
#   CLIP_ITERS, GDINO_ITERS  timed iterations (default 50 and 10)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$(mktemp -d -t groundbeam-gpu-bench-XXXXXX)}"
PY="${PYTHON:-python3}"
CLIP_ITERS="${CLIP_ITERS:-50}"
GDINO_ITERS="${GDINO_ITERS:-10}"

die() { echo "bench/gpu: $*" >&2; exit 2; }

# --- preconditions: fail clearly, before any work -------------------------
command -v nvidia-smi >/dev/null 2>&1 || die "no GPU: nvidia-smi is not on PATH"
nvidia-smi -L >/dev/null 2>&1 || die "no GPU: nvidia-smi -L fails ($(nvidia-smi -L 2>&1 | head -1))"
command -v "$PY" >/dev/null 2>&1 || die "$PY not found (set PYTHON)"
"$PY" -c 'import torch' 2>/dev/null || die "torch is not importable by $PY (pip install torch)"
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
  die "torch is installed but torch.cuda.is_available() is False (CPU-only torch or driver mismatch)"
for m in transformers onnx numpy PIL; do
  "$PY" -c "import $m" 2>/dev/null || die "$m is not importable by $PY (see tools/export/README.md)"
done
if [[ -z "${GROUNDBEAM:-}" ]]; then
  command -v go >/dev/null 2>&1 || die "go is not on PATH (needed to build groundbeam; or set GROUNDBEAM)"
fi
export GROUNDBEAM_ORT_LIB="${GROUNDBEAM_ORT_LIB:-$ROOT/.cache/ort-gpu/libonnxruntime.so.1}"
[[ -f "$GROUNDBEAM_ORT_LIB" ]] || die "no ONNX Runtime at $GROUNDBEAM_ORT_LIB (run make deps, or set GROUNDBEAM_ORT_LIB)"
if ! ldconfig -p 2>/dev/null | grep -q libcublasLt.so.13 && [[ ":${LD_LIBRARY_PATH:-}:" != *cu13* ]]; then
  NV_LIBS=$("$PY" -c '
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit
dirs = {os.path.dirname(f) for base in nvidia.__path__
        for f in glob.glob(os.path.join(base, "**", "lib*.so*"), recursive=True)}
print(":".join(sorted(dirs)))')
  [[ -n "$NV_LIBS" ]] && export LD_LIBRARY_PATH="$NV_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

mkdir -p "$OUT"
echo "bench/gpu: results and bundles in $OUT"
nvidia-smi -L | tee "$OUT/gpu.txt"

GB="${GROUNDBEAM:-$OUT/groundbeam}"
[[ -n "${GROUNDBEAM:-}" ]] || (cd "$ROOT" && go build -o "$GB" ./cmd/groundbeam)
"$GB" bench-session --help >/dev/null 2>&1 ||
  die "this groundbeam has no bench-session command (contract: bench/gpu/README.md)"
EP_ARGS=()
if [[ -n "${ORT_EP_LIB:-}" ]]; then EP_ARGS=(--ort-ep-lib "$ORT_EP_LIB"); fi

# --- bundles: random init, real shapes ------------------------------------
echo "== export CLIP ViT-B/32 (random init, fp16, uint8 input)"
"$PY" "$ROOT/tools/export/clip.py" --random-init --arch ViT-B/32 --fp16 --device cuda \
  --allow-parity-failure --overwrite "$OUT/clip-b32-fp16" | tee "$OUT/export-clip.log"
echo "== export Grounding DINO-T (random init, fp32, uint8 input)"
"$PY" "$ROOT/tools/export/grounding_dino.py" --random-init --device cuda \
  --allow-parity-failure --overwrite "$OUT/gdino-t" | tee "$OUT/export-gdino.log"
# Random weights make the two-stage query selection (top 900 of near-equal scores) reorder with
# rounding, so GPU-vs-CPU parity is measured on a single-stage variant too.
echo "== export Grounding DINO-T, single stage (for parity)"
"$PY" "$ROOT/tools/export/grounding_dino.py" --random-init --single-stage --device cuda \
  --allow-parity-failure --overwrite "$OUT/gdino-t-1stage" | tee "$OUT/export-gdino-1stage.log"

# --- PyTorch eager ---------------------------------------------------------
echo "== PyTorch eager"
"$PY" "$ROOT/bench/gpu/torch_bench.py" clip --batch 256 --iters "$CLIP_ITERS" | tee "$OUT/torch-clip.json"
"$PY" "$ROOT/bench/gpu/torch_bench.py" clip --batch 256 --iters "$CLIP_ITERS" --attn sdpa | tee "$OUT/torch-clip-sdpa.json"
"$PY" "$ROOT/bench/gpu/torch_bench.py" grounding --batch 8 --height 800 --width 1333 --iters "$GDINO_ITERS" |
  tee "$OUT/torch-gdino.json"
"$PY" "$ROOT/bench/gpu/torch_bench.py" grounding --single-stage --batch 1 --height 800 --width 1333 --iters 3 \
  --diff-batch 1 | tee "$OUT/torch-gdino-1stage.json"

# --- groundbeam (ONNX Runtime, CUDA) ---------------------------------------
echo "== groundbeam bench-session"
"$GB" bench-session --bundle "$OUT/clip-b32-fp16" --graph image --batch 256 --iters "$CLIP_ITERS" \
  --provider cuda --check-cpu ${EP_ARGS[@]+"${EP_ARGS[@]}"} | tail -1 | tee "$OUT/go-clip.json"
"$GB" bench-session --bundle "$OUT/gdino-t" --graph grounding --batch 8 --iters "$GDINO_ITERS" \
  --height 800 --width 1344 --tokens 32 --provider cuda ${EP_ARGS[@]+"${EP_ARGS[@]}"} | tail -1 |
  tee "$OUT/go-gdino.json"
# The CPU comparison on one image: eight at 800x1344 on the CPU take minutes.
"$GB" bench-session --bundle "$OUT/gdino-t" --graph grounding --batch 1 --iters "$GDINO_ITERS" \
  --height 800 --width 1344 --tokens 32 --provider cuda --check-cpu ${EP_ARGS[@]+"${EP_ARGS[@]}"} | tail -1 |
  tee "$OUT/go-gdino1.json"
"$GB" bench-session --bundle "$OUT/gdino-t-1stage" --graph grounding --batch 1 --iters 3 \
  --height 800 --width 1344 --tokens 32 --provider cuda --check-cpu ${EP_ARGS[@]+"${EP_ARGS[@]}"} | tail -1 |
  tee "$OUT/go-gdino-1stage.json"
echo "== models verify on the GPU"
for b in clip-b32-fp16 gdino-t gdino-t-1stage; do
  "$GB" models verify "$OUT/$b" --provider cuda ${EP_ARGS[@]+"${EP_ARGS[@]}"} | tee "$OUT/verify-$b.txt" || true
done

# --- summary ---------------------------------------------------------------
"$PY" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.loads(f.read().strip().splitlines()[-1])
gd = load("go-gdino.json")
gd["max_abs_diff_cpu"] = load("go-gdino1.json").get("max_abs_diff_cpu")  # measured on one image
rows = [("CLIP ViT-B/32 image, batch 256 (torch eager attn)", load("torch-clip.json"), load("go-clip.json")),
        ("CLIP ViT-B/32 image, batch 256 (torch sdpa attn)", load("torch-clip-sdpa.json"), load("go-clip.json")),
        ("Grounding DINO-T, batch 8, 800x1333 (Go: 800x1344)", load("torch-gdino.json"), gd)]
print()
print(f"{'graph':52} {'torch img/s':>12} {'go img/s':>10} {'go/torch':>9} {'torch gpu-cpu':>14} {'go gpu-cpu':>11}")
for name, t, g in rows:
    ratio = g["images_per_s"] / t["images_per_s"] if t["images_per_s"] else float("nan")
    gd = g.get("max_abs_diff_cpu")
    print(f"{name:52} {t['images_per_s']:12.1f} {g['images_per_s']:10.1f} {ratio:9.2f} "
          f"{t['max_abs_diff_gpu_cpu']:14.3g} {gd if gd is None else format(gd, '.3g'):>11}")
t1, g1 = load("torch-gdino-1stage.json"), load("go-gdino-1stage.json")
print(f"\nGrounding DINO-T single stage, one image, GPU vs CPU: torch {t1['max_abs_diff_gpu_cpu']:.3g} "
      f"(logits {t1['max_abs_diff_gpu_cpu_logits']:.3g}), go {g1.get('max_abs_diff_cpu')}")
print(f"\ndevice: {load('torch-clip.json').get('device')}; torch {load('torch-clip.json').get('torch')}")
EOF
