//! The CUDA backend's heavy paths next to the CPU backend, on the same work as
//! `benches/peers/cuda_torch.py`: a fused AdamW step (with and without in-pass noise) on 1M
//! parameters and a DP-SGD clip + sum + noise on a 64 x 10 000 per-example gradient matrix.
//! The CUDA cases print `SKIP cuda: <reason>` and are left out when no GPU is present.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use noisekit::backend::{Backend, CpuBackend, UpdateRule};
use noisekit::NoiseKey;

const PARAMS: usize = 1_000_000;
const BATCH: usize = 64;
const DIM: usize = 10_000;

fn adamw() -> UpdateRule {
    UpdateRule::AdamW {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
        step: 2,
    }
}

fn bench_backend<B: Backend>(c: &mut Criterion, be: &B) {
    let mut g = c.benchmark_group(format!("cuda_pair/{}", be.name()));
    let mut host = vec![0f32; PARAMS];
    noisekit::rng::bulk::fill_normal_f32(&NoiseKey::new(1, 1), &mut host);
    let mut p = be.upload(&host).unwrap();
    let grads = be.upload(&host).unwrap();
    let mut state = vec![
        be.alloc::<f32>(PARAMS).unwrap(),
        be.alloc::<f32>(PARAMS).unwrap(),
    ];
    g.throughput(Throughput::Elements(PARAMS as u64));
    for (label, noise) in [
        ("adamw_1M", None),
        ("adamw_noise_1M", Some((NoiseKey::new(2, 2), 1e-3f32))),
    ] {
        g.bench_function(label, |b| {
            b.iter(|| {
                be.fused_update(&adamw(), &mut p, &grads, &mut state, noise)
                    .unwrap();
                be.sync().unwrap();
            })
        });
    }
    let mut gh = vec![0f32; BATCH * DIM];
    noisekit::rng::bulk::fill_normal_f32(&NoiseKey::new(3, 3), &mut gh);
    let gb = be.upload(&gh).unwrap();
    let mut out = be.alloc::<f32>(DIM).unwrap();
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("dpsgd_clip_noise_64x10k", |b| {
        b.iter(|| {
            be.clip_rows_and_sum(&gb, BATCH, DIM, 1.0, &mut out)
                .unwrap();
            be.add_normal(NoiseKey::new(4, 4), 1.1, &mut out).unwrap();
            be.sync().unwrap();
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_backend(c, &CpuBackend);
    if let Some(gpu) = noisekit_cuda::backend_or_skip() {
        bench_backend(c, &gpu);
    }
}

criterion_group! {
    name = cuda;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(cuda);
