"""Peer of benches/benches/sampled.rs: WTA-CRS weight gradient in numpy (float32) vs exact G^T X.

Same shape and work: N = 2048 tokens, d_in = d_out = 256; row norms, probabilities, adaptive winner
count, top-k (argpartition), categorical draws of the remainder, gathers, reduced matmul.
Run: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python3 benches/peers/est_sampled.py
"""
import time

import numpy as np

N, D_IN, D_OUT = 2048, 256, 256
rng = np.random.default_rng(1)
X = rng.standard_normal((N, D_IN), dtype=np.float32)
G = rng.standard_normal((N, D_OUT), dtype=np.float32)
gn = np.linalg.norm(G, axis=1).astype(np.float64)


def wta_crs(ratio):
    k = min(max(int(N * ratio), 10), N)
    xn = np.linalg.norm(X, axis=1).astype(np.float64)
    w = xn * gn
    p = w / w.sum()
    top = np.argpartition(-p, k - 1)[:k]
    top = top[np.argsort(-p[top], kind="stable")]
    c = np.cumsum(p[top])
    j = np.arange(1, k + 1)
    with np.errstate(divide="ignore"):
        score = np.where(j < k, (1 - c) / (k - j), np.inf)
    jstar = int(np.argmin(score))
    n_win = 0 if 1.0 / k < score[jstar] else jstar + 1
    win = top[:n_win]
    mask = np.ones(N, bool)
    mask[win] = False
    rest = np.nonzero(mask)[0]
    rest_mass = p[rest].sum()
    s = k - n_win
    draws = rest[rng.choice(rest.size, size=s, p=p[rest] / rest_mass)]
    idx = np.concatenate([win, draws])
    scale = np.concatenate([np.ones(n_win), rest_mass / (s * p[draws])]).astype(np.float32)
    xs = X[idx] * scale[:, None]
    return G[idx].T @ xs


def timeit(f, reps=30):
    f()
    best = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best.append(time.perf_counter() - t)
    return float(np.median(best))


t_exact = timeit(lambda: G.T @ X)
print(f"numpy exact_gemm: {t_exact * 1e3:.3f} ms")
for r in (0.1, 0.3, 0.5):
    t = timeit(lambda: wta_crs(r))
    print(f"numpy wta_crs/{r}: {t * 1e3:.3f} ms  (x{t / t_exact:.2f} of exact)")
