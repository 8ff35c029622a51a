//! DP benchmarks: the RDP accountant (epsilon for q = 0.01, sigma = 1.1, 10 000 steps,
//! delta = 1e-5 on dp-accounting's 156-order grid) — peer: benches/peers/dp_accounting.py.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use noisekit::accounting::{epsilon_for, DP_ACCOUNTING_ORDERS};

fn accountant(c: &mut Criterion) {
    c.bench_function("dp/epsilon q=0.01 sigma=1.1 T=1e4 (156 orders)", |b| {
        b.iter(|| {
            epsilon_for(
                black_box(0.01),
                black_box(1.1),
                black_box(10_000),
                black_box(1e-5),
                &DP_ACCOUNTING_ORDERS,
            )
            .map(|g| g.value)
        })
    });
}

criterion_group!(benches, accountant);
criterion_main!(benches);
