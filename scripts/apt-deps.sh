#!/usr/bin/env bash
# Installs the Debian packages the build links against: libjpeg-turbo's
# TurboJPEG library (linked statically into the binary, so workers need
# nothing at run time). Idempotent: installed packages are left alone.
set -euo pipefail
pkgs=(libturbojpeg0-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && { echo "apt packages: ${pkgs[*]} (installed)"; exit 0; }
sudo=""
[[ $(id -u) -ne 0 ]] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "apt packages: installed ${missing[*]}"
