"""Peer timing for benches/benches/fractional.rs: the `fbm` PyPI package (crflynn/fbm 0.3.0),
Davies-Harte at n = 2^16 and 2^20, H = 0.7, one path per call with the object (and its eigenvalue
cache) reused ("warm") and a fresh object per path ("cold"); plus a numpy exact MA-fBM (K = 5)
path of 2^16 steps. Prints median seconds per path.
Usage: python3 benches/peers/fbm_davies_harte.py [repeats_2^16] [repeats_2^20]"""
import statistics
import sys
import time

import numpy as np
from fbm import FBM


def med(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def mafbm_numpy(n, rng):
    g = np.array([0.05, 0.2236068, 1.0, 4.472136, 20.0])
    w = np.array([2.2675420302, -1.4241379523, 0.0198367845, -0.3114636884, -0.1774457521])
    dt = 1.0 / n
    s = (1 - np.exp(-(g[:, None] + g[None, :]) * dt)) / (g[:, None] + g[None, :])
    lam, v = np.linalg.eigh(s)
    f = v * np.sqrt(np.clip(lam, 0, None))
    p0 = 1.0 / (g[:, None] + g[None, :])
    lam0, v0 = np.linalg.eigh(p0)
    y = (v0 * np.sqrt(np.clip(lam0, 0, None))) @ rng.standard_normal(5)
    y0 = y.copy()
    d = np.exp(-g * dt)
    xi = rng.standard_normal((n, 5)) @ f.T
    out = np.empty(n + 1)
    out[0] = 0.0
    for i in range(n):
        y = d * y + xi[i]
        out[i + 1] = w @ (y - y0)
    return out


if __name__ == "__main__":
    r16 = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    r20 = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    np.random.seed(0)
    for log_n, reps in [(16, r16), (20, r20)]:
        n = 1 << log_n
        f = FBM(n=n, hurst=0.7, length=1, method="daviesharte")
        f.fbm()  # fills the eigenvalue cache
        warm = med(f.fbm, reps)
        cold = med(lambda: FBM(n=n, hurst=0.7, length=1, method="daviesharte").fbm(), max(1, reps // 2))
        print(f"fbm daviesharte n=2^{log_n} H=0.7: warm {warm:.4f} s/path, cold {cold:.4f} s/path")
    rng = np.random.default_rng(0)
    t = med(lambda: mafbm_numpy(1 << 16, rng), 3)
    print(f"numpy exact MA-fBM K=5 n=2^16: {t:.4f} s/path")
