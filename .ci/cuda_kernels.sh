#!/usr/bin/env bash
# Compiles every noisekit-cuda kernel to PTX for sm_80 and sm_90 with NVRTC, without a GPU or driver.
# NVRTC comes from PyPI (nvidia-cuda-nvrtc-cu12 ships libnvrtc.so.12), installed into a private dir
# (not the system site-packages). Exits non-zero if the install is impossible or a kernel fails.
set -euo pipefail
cd "$(dirname "$0")/.."

NVRTC_DIR="${NOISEKIT_NVRTC_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/noisekit/nvrtc-cu12}"
PY="${PYTHON:-python3}"

find_lib() { find "$NVRTC_DIR" -name 'libnvrtc.so.12*' -path '*cuda_nvrtc/lib*' 2>/dev/null | head -n1; }

lib="$(find_lib || true)"
if [ -z "$lib" ]; then
  echo "==> installing NVRTC from PyPI into $NVRTC_DIR"
  mkdir -p "$NVRTC_DIR"
  if ! "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --target "$NVRTC_DIR" \
      'nvidia-cuda-nvrtc-cu12>=12.8,<13'; then
    echo "ERROR: cannot install nvidia-cuda-nvrtc-cu12 from PyPI (no network or no pip for $PY);" >&2
    echo "       kernel compilation was NOT checked." >&2
    exit 2
  fi
  lib="$(find_lib || true)"
fi
if [ -z "$lib" ]; then
  echo "ERROR: nvidia-cuda-nvrtc-cu12 installed but libnvrtc.so.12 not found under $NVRTC_DIR" >&2
  exit 2
fi
libdir="$(dirname "$lib")"
echo "==> NVRTC: $lib"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export NOISEKIT_REQUIRE_NVRTC=1

echo "==> compiling every kernel module for compute_80 and compute_90"
cargo test -p noisekit-cuda --release --lib -- --nocapture compile_every_kernel
