"""Peer for benches/benches/dp.rs (MLP group): one SGD step of an MLP 784-256-10 on a batch of
256 random samples (softmax cross-entropy), plain PyTorch and Opacus DP-SGD (hooks, C = 1, z = 1).
Prints samples/s (median over steps). Run: python3 benches/peers/dp_opacus.py
Threads: torch uses THREADS (default 1) so the comparison with the single-threaded Rust step is fair."""
import os
import statistics
import time
import warnings

import torch
from torch import nn

warnings.filterwarnings("ignore")
torch.set_num_threads(int(os.environ.get("THREADS", "1")))
torch.manual_seed(0)
B, STEPS = 256, int(os.environ.get("STEPS", "30"))
x = torch.randn(B * 4, 784)
y = torch.arange(B * 4) % 10


def model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def run(m, opt, loader_batches):
    lossf = nn.CrossEntropyLoss()
    times = []
    for i in range(STEPS + 3):
        xb, yb = loader_batches[i % len(loader_batches)]
        t0 = time.perf_counter()
        opt.zero_grad()
        lossf(m(xb), yb).backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return B / statistics.median(times)


batches = [(x[i * B:(i + 1) * B], y[i * B:(i + 1) * B]) for i in range(4)]
m = model()
plain = run(m, torch.optim.SGD(m.parameters(), lr=1e-3), batches)
print(f"plain pytorch: {plain:.0f} samples/s")

from opacus import GradSampleModule  # noqa: E402
from opacus.optimizers import DPOptimizer  # noqa: E402

for mode in ["hooks", "ghost"]:
    m = model()
    if mode == "ghost":
        try:
            from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping  # noqa
            from opacus.grad_sample import GradSampleModuleFastGradientClipping
            from opacus.optimizers import DPOptimizerFastGradientClipping
        except Exception as e:  # pragma: no cover
            print(f"opacus ghost clipping unavailable: {e}")
            continue
        gm = GradSampleModuleFastGradientClipping(m, max_grad_norm=1.0, use_ghost_clipping=True)
        opt = DPOptimizerFastGradientClipping(torch.optim.SGD(gm.parameters(), lr=1e-3), noise_multiplier=1.0,
                                              max_grad_norm=1.0, expected_batch_size=B)
        crit = DPLossFastGradientClipping(gm, opt, nn.CrossEntropyLoss(reduction="mean"))
        times = []
        for i in range(STEPS + 3):
            xb, yb = batches[i % 4]
            t0 = time.perf_counter()
            opt.zero_grad()
            crit(gm(xb), yb).backward()
            opt.step()
            if i >= 3:
                times.append(time.perf_counter() - t0)
        sps = B / statistics.median(times)
    else:
        gm = GradSampleModule(m, batch_first=True, loss_reduction="mean")
        opt = DPOptimizer(torch.optim.SGD(gm.parameters(), lr=1e-3), noise_multiplier=1.0, max_grad_norm=1.0,
                          expected_batch_size=B)
        sps = run(gm, opt, batches)
    print(f"opacus {mode}: {sps:.0f} samples/s ({plain / sps:.1f}x slower than plain)")
