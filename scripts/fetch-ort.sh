#!/usr/bin/env bash
# Fetches ONNX Runtime's CPU shared library from the npm registry package
# onnxruntime-node (no install scripts run), checks its sha256 and puts it in
# the cache folder. Idempotent: a library already there with the right
# checksum is left alone.
set -euo pipefail

version=1.30.0
member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
want=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
dest=${1:-.cache/ort/libonnxruntime.so.1}

if [[ -f "$dest" ]] && echo "$want  $dest" | sha256sum --check --status; then
  echo "onnx runtime $version: $dest (sha256 ok)"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-ort: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$tmp/onnxruntime-node-$version.tgz" -C "$tmp" "$member"
if ! echo "$want  $tmp/$member" | sha256sum --check --status; then
  echo "fetch-ort: sha256 of $member does not match $want" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
mv "$tmp/$member" "$dest.partial"
mv "$dest.partial" "$dest"
echo "onnx runtime $version: $dest (sha256 ok)"
