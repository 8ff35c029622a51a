#!/usr/bin/env bash
# One prepared GPU check for noisekit-cuda: build, kernel compilation (NVRTC), CPU/GPU parity tests,
# then the benchmark table (fused update rules on 100M params vs memory bandwidth; DP-SGD clip+noise
# samples/s vs the CPU backend). Without a GPU every step prints `SKIP cuda: ...` and exits 0.
#
#   benches/gpu.sh [params=100000000] [batch=256] [dim=1000000]
#
# Needs libcuda (driver) and CUDA 12 libnvrtc/libcublas on the loader path; if no toolkit is
# installed: pip install nvidia-cuda-nvrtc-cu12 nvidia-cublas-cu12 and this script adds their lib dirs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# CUDA 12 libraries from pip wheels, if present (site-packages/nvidia/*/lib).
for d in $(python3 -c 'import site,glob;print(" ".join(sorted({p for s in site.getsitepackages() for p in glob.glob(s+"/nvidia/*/lib")})))' 2>/dev/null || true) \
         "${NOISEKIT_NVRTC_DIR:-$HOME/.cache/noisekit/nvrtc-cu12}/nvidia/cuda_nvrtc/lib"; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

echo "==> build (release)"
cargo build --release -p noisekit-cuda --tests --examples
echo "==> kernel compilation + CPU-side tests"
cargo test --release -p noisekit-cuda --lib -- --nocapture 2>&1 | grep -E "SKIP|compiled|panicked|FAILED|test result"
echo "==> parity tests (CPU vs CUDA)"
cargo test --release -p noisekit-cuda --test parity -- --nocapture --test-threads=1 2>&1 | grep -E "SKIP|cuda device|panicked|FAILED|failed|test result"
echo "==> benchmarks"
cargo run --release -q -p noisekit-cuda --example gpu_bench -- "${1:-100000000}" "${2:-256}" "${3:-1000000}"
