"""Peer of benches/benches/optim.rs: torch.optim steps on 10M f32 params at 1 and 2 threads.

Times one optimizer step (median of repeats) for SGD, SGDM, SGDM-Nesterov, AdamW (foreach and
fused where torch offers it on CPU), the SGD-SaI update written with torch's in-place ops
(mul_/add_ as the authors' code), and the noisy variants as torch users write them:
g.add_(torch.randn_like(g), alpha=sigma) (normal_ into a temporary) before the step.
Also times a plain copy (dst.copy_(src)) for the bandwidth roof. Prints one JSON line per case:
{"case", "threads", "ms", "gbps"}.
Run: python3 benches/peers/optim_torch.py [N]
"""
import json
import sys
import time

import torch

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
REPEATS = 7


def timeit(fn):
    fn()
    ts = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def make(opt_cls, **kw):
    p = torch.nn.Parameter(torch.full((N,), 0.5))
    p.grad = (torch.arange(N, dtype=torch.float32) % 1000 - 500) * 1e-3
    opt = opt_cls([p], **kw)
    opt.step()  # create state
    return p, opt


def report(case, threads, sec, bytes_per_elem):
    print(json.dumps(dict(case=case, threads=threads, ms=round(sec * 1e3, 3),
                          gbps=round(bytes_per_elem * N / sec / 1e9, 2))), flush=True)


for threads in (1, 2):
    torch.set_num_threads(threads)
    src = torch.randn(N)
    dst = torch.empty(N)
    report("copy", threads, timeit(lambda: dst.copy_(src)), 8)
    cases = [
        ("sgd_foreach", torch.optim.SGD, dict(lr=1e-3, foreach=True), 12),
        ("sgd_fused", torch.optim.SGD, dict(lr=1e-3, fused=True), 12),
        ("sgdm_foreach", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, foreach=True), 20),
        ("sgdm_fused", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, fused=True), 20),
        ("sgdm_nesterov_foreach", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, nesterov=True, foreach=True), 20),
        ("sgdm_nesterov_fused", torch.optim.SGD, dict(lr=1e-3, momentum=0.9, weight_decay=1e-4, nesterov=True, fused=True), 20),
        ("adamw_foreach", torch.optim.AdamW, dict(lr=1e-3, weight_decay=1e-2, foreach=True), 28),
        ("adamw_fused", torch.optim.AdamW, dict(lr=1e-3, weight_decay=1e-2, fused=True), 28),
    ]
    for name, cls, kw, b in cases:
        try:
            p, opt = make(cls, **kw)
        except Exception as e:  # fused not available on this build
            print(json.dumps(dict(case=name, threads=threads, error=str(e)[:80])), flush=True)
            continue
        with torch.no_grad():
            report(name, threads, timeit(opt.step), b)
    # SGD-SaI as the authors write it: buf.mul_(m).add_(g, alpha=1-m); p.mul_(1-lr*wd).add_(buf, alpha=-lr*gsnr)
    p = torch.full((N,), 0.5)
    g = (torch.arange(N, dtype=torch.float32) % 1000 - 500) * 1e-3
    buf = g.clone()

    def sai():
        buf.mul_(0.9).add_(g, alpha=0.1)
        p.mul_(1 - 1e-3 * 1e-2).add_(buf, alpha=-1e-3 * 30.0)

    report("sgd_sai_inplace", threads, timeit(sai), 20)
    # Noisy: normal_ into a temporary, add to the gradient, then the best step.
    for name, cls, kw, b in [("sgd_noise", torch.optim.SGD, dict(lr=1e-3, foreach=True), 12),
                             ("adamw_noise", torch.optim.AdamW, dict(lr=1e-3, weight_decay=1e-2, fused=True), 28)]:
        try:
            p, opt = make(cls, **kw)
        except Exception:
            p, opt = make(cls, lr=1e-3)
        g0 = p.grad.clone()

        def step():
            with torch.no_grad():
                p.grad.copy_(g0)
                p.grad.add_(torch.randn_like(p.grad), alpha=0.01)
                opt.step()

        report(name, threads, timeit(step), b)
