"""Peer of benches/benches/cuda.rs in PyTorch: the same work, timed the same way (median of runs).

- fused AdamW step on 1M params (torch.optim.AdamW, fused=True where the device supports it,
  else foreach), with and without adding sigma * randn to the gradient first (in-pass noise in
  noisekit; an extra randn + add here);
- DP-SGD clip + sum + noise on a 64 x 10 000 per-example gradient matrix (per-row norms, clamp
  factor, weighted column sum, add 1.1 * randn), as Opacus does it.

Runs on CUDA when torch sees a GPU, and on the CPU with torch.set_num_threads(1) otherwise (the CPU
backend of noisekit is single-threaded). Usage: python3 benches/peers/cuda_torch.py [cpu|cuda]
"""
import statistics
import sys
import time

import torch

PARAMS, BATCH, DIM = 1_000_000, 64, 10_000


def timeit(fn, sync, warm=3, reps=30):
    for _ in range(warm):
        fn()
    sync()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    dev = sys.argv[1] if len(sys.argv) > 1 else ("cuda" if torch.cuda.is_available() else "cpu")
    if dev == "cpu":
        torch.set_num_threads(1)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    g = torch.Generator(device=dev).manual_seed(0)
    p = torch.nn.Parameter(torch.randn(PARAMS, device=dev, generator=g))
    grad = torch.randn(PARAMS, device=dev, generator=g)
    try:
        opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, fused=True)
        kind = "fused"
    except (RuntimeError, ValueError):
        opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01, foreach=True)
        kind = "foreach"
    p.grad = grad.clone()
    opt.step()  # state init

    def step():
        p.grad = grad
        opt.step()

    def step_noise():
        p.grad = grad + 1e-3 * torch.randn(PARAMS, device=dev, generator=g)
        opt.step()

    gm = torch.randn(BATCH, DIM, device=dev, generator=g)

    def dpsgd():
        norms = gm.norm(dim=1)
        f = (1.0 / (norms + 1e-12)).clamp(max=1.0)  # clip = 1
        s = (gm * f[:, None]).sum(0)
        s.add_(torch.randn(DIM, device=dev, generator=g), alpha=1.1)
        return s

    rows = [
        (f"adamw_1M ({kind})", timeit(step, sync), PARAMS),
        (f"adamw_noise_1M ({kind})", timeit(step_noise, sync), PARAMS),
        ("dpsgd_clip_noise_64x10k", timeit(dpsgd, sync), BATCH),
    ]
    print(f"torch {torch.__version__} on {dev}")
    for name, t, elems in rows:
        print(f"{name:32s} {t * 1e6:10.1f} us  {elems / t / 1e6:8.2f} M elem/s")


if __name__ == "__main__":
    main()
