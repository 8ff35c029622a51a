"""Peer for benches/benches/dp.rs: dp-accounting 0.6.0 RdpAccountant epsilon for
(q=0.01, sigma=1.1, steps=10000, delta=1e-5) on its DEFAULT_RDP_ORDERS (156 orders).
Prints the median of repeated timings in ms. Run: python3 benches/peers/rdp_accountant_peer.py"""
import os
import statistics
import time
import warnings

import dp_accounting
from dp_accounting.rdp import rdp_privacy_accountant as rdp

warnings.filterwarnings("ignore")


def eps():
    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(1.1)), 10000))
    return acc.get_epsilon(1e-5)


eps()
times = []
for _ in range(int(os.environ.get("REPS", "15"))):
    t0 = time.perf_counter()
    e = eps()
    times.append(time.perf_counter() - t0)
print(f"dp-accounting epsilon = {e:.12f}; median {statistics.median(times) * 1e3:.2f} ms "
      f"(min {min(times) * 1e3:.2f} ms, {len(times)} reps)")
