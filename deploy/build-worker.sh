#!/usr/bin/env bash
# Builds the cgo worker binary Dataflow runs (--worker_binary). Beam would
# otherwise cross-compile the launcher with CGO_ENABLED=0, and onnxruntime_go
# needs cgo. Build it on (or for) the worker's platform: linux/amd64, glibc.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/groundbeam-worker}
CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$out" ./cmd/groundbeam
echo "$out"
