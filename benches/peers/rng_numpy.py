"""Peer timing for the normal fill and gemm benches: numpy's standard_normal (PCG64 + Ziggurat) on
10M samples and float32/float64 matmul at 1024^3, with the thread count pinned by threadpoolctl.

Run in the same window as `cargo bench -p noisekit-benches --bench rng --bench gemm`:
    python3 benches/peers/rng_numpy.py
"""
import os
import time

import numpy as np

try:
    from threadpoolctl import threadpool_limits, threadpool_info
except ImportError:  # pragma: no cover
    threadpool_limits = None

N = 10_000_000


def times(f, reps=15):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)


def best(f, reps=5):
    return times(f, reps)[0]


def main():
    print(f"load: {os.getloadavg()}")
    rng = np.random.default_rng(1)
    out32 = np.empty(N, dtype=np.float32)
    out64 = np.empty(N, dtype=np.float64)
    t32 = best(lambda: rng.standard_normal(out=out32, dtype=np.float32))
    t64 = best(lambda: rng.standard_normal(out=out64))
    print(f"numpy standard_normal f32: {t32 / N * 1e9:.2f} ns/sample")
    print(f"numpy standard_normal f64: {t64 / N * 1e9:.2f} ns/sample")
    n = 1024
    a32 = np.random.default_rng(2).standard_normal((n, n)).astype(np.float32)
    b32 = np.random.default_rng(3).standard_normal((n, n)).astype(np.float32)
    if threadpool_limits is None:
        print("threadpoolctl is missing (pip install threadpoolctl): thread counts are not pinned")
    for threads in (1, 2):
        ctx = threadpool_limits(threads) if threadpool_limits else None
        ts = times(lambda: a32 @ b32)
        flops = 2 * n**3
        print(f"numpy sgemm 1024^3, {threads} thread(s): best {flops / ts[0] / 1e9:.1f} GFLOP/s, "
              f"median {flops / ts[len(ts) // 2] / 1e9:.1f} GFLOP/s")
        if ctx:
            ctx.unregister() if hasattr(ctx, "unregister") else None
    if threadpool_limits:
        print([(i["internal_api"], i.get("architecture")) for i in threadpool_info()])


if __name__ == "__main__":
    main()
