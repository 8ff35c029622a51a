//! Sampled weight gradient of a linear layer (WTA-CRS, arXiv 2305.15265) at budgets 10/30/50% of the
//! tokens vs the exact `G^T X` gemm of the same shape (N = 2048 tokens, d_in = d_out = 256).
//! The sampled path includes everything a training step pays: activation row norms, probabilities,
//! plan (top-k + draws), row gathers and the reduced gemm. Peer: benches/peers/est_sampled.py.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use noisekit::backend::{Backend, CpuBackend, Transpose};
use noisekit::rng::{default_rng, seq};
use noisekit::sampled::crs::PlanOptions;
use noisekit::sampled::linear::SampledLinear;

const N: usize = 2048;
const D_IN: usize = 256;
const D_OUT: usize = 256;

fn bench(c: &mut Criterion) {
    let be = CpuBackend::new();
    let mut rng = default_rng(1);
    let x: Vec<f32> = (0..N * D_IN).map(|_| seq::normal_f32(&mut rng)).collect();
    let g: Vec<f32> = (0..N * D_OUT).map(|_| seq::normal_f32(&mut rng)).collect();
    let (xb, gb) = (be.upload(&x).unwrap(), be.upload(&g).unwrap());
    let mut gsq = vec![0f32; N];
    be.row_sq_norms(&gb, N, D_OUT, &mut gsq).unwrap();
    let gn: Vec<f64> = gsq.iter().map(|&s| (s as f64).sqrt()).collect();
    let mut out = be.alloc::<f32>(D_OUT * D_IN).unwrap();
    let mut group = c.benchmark_group("wta_crs_weight_grad");
    group.sample_size(20);
    group.bench_function("exact_gemm", |b| {
        b.iter(|| {
            be.gemm(
                Transpose::Yes,
                Transpose::No,
                D_OUT,
                D_IN,
                N,
                1.0,
                &gb,
                &xb,
                0.0,
                &mut out,
            )
            .unwrap();
            black_box(&out);
        })
    });
    for ratio in [0.1, 0.3, 0.5] {
        let mut layer =
            SampledLinear::<CpuBackend>::new(D_IN, D_OUT, ratio, 10, PlanOptions::default())
                .unwrap();
        group.bench_with_input(BenchmarkId::new("wta_crs", ratio), &ratio, |b, _| {
            b.iter(|| {
                layer
                    .save_for_backward(&be, &mut rng, &xb, N, Some(&gn))
                    .unwrap();
                layer.weight_grad(&be, &gb, &mut out).unwrap();
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
