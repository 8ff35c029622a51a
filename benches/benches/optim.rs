//! Fused update rules on 10M f32 parameters at 1 and 2 threads, against this machine's copy
//! bandwidth (a `copy_from_slice` of the same size in the same run). Bytes moved per element:
//! copy 8 (read + write), SGD 12 (p, g -> p), SGDM / SGD-SaI 20 (p, g, buf -> p, buf),
//! AdamW 28 (p, g, m, v -> p, m, v). The noisy variants generate N(0, 1) from Philox inside the
//! same pass. Peer: benches/peers/optim_torch.py (torch.optim foreach / fused, `normal_` + update).
//! Run: `cargo bench -p noisekit-benches --bench optim` (env `OPTIM_N` to change the size).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noisekit::backend::UpdateRule;
use noisekit::update::apply_update_threads;
use noisekit::NoiseKey;

fn n() -> usize {
    std::env::var("OPTIM_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

fn copy_threads(dst: &mut [f32], src: &[f32], threads: usize) {
    let chunk = dst.len().div_ceil(threads);
    std::thread::scope(|s| {
        let mut pairs = dst.chunks_mut(chunk).zip(src.chunks(chunk));
        let first = pairs.next();
        for (d, c) in pairs {
            s.spawn(move || d.copy_from_slice(c));
        }
        if let Some((d, c)) = first {
            d.copy_from_slice(c);
        }
    });
}

fn bench(c: &mut Criterion) {
    let n = n();
    let grads: Vec<f32> = (0..n).map(|i| ((i % 1000) as f32 - 500.0) * 1e-3).collect();
    let mut p = vec![0.5f32; n];
    let mut a = vec![0.1f32; n];
    let mut b = vec![0.2f32; n];
    let rules: [(&str, UpdateRule, u64, bool); 7] = [
        (
            "sgd",
            UpdateRule::Sgd {
                lr: 1e-3,
                momentum: 0.0,
                dampening: 0.0,
                weight_decay: 0.0,
                nesterov: false,
                step: 2,
            },
            12,
            false,
        ),
        (
            "sgdm",
            UpdateRule::Sgd {
                lr: 1e-3,
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: false,
                step: 2,
            },
            20,
            false,
        ),
        (
            "sgdm_nesterov",
            UpdateRule::Sgd {
                lr: 1e-3,
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: true,
                step: 2,
            },
            20,
            false,
        ),
        (
            "adamw",
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 1e-2,
                step: 2,
            },
            28,
            false,
        ),
        (
            "sgd_sai",
            UpdateRule::SgdSai {
                lr: 1e-3,
                momentum: 0.9,
                weight_decay: 1e-2,
                gsnr: 30.0,
                step: 2,
            },
            20,
            false,
        ),
        (
            "sgd_noise",
            UpdateRule::Sgd {
                lr: 1e-3,
                momentum: 0.0,
                dampening: 0.0,
                weight_decay: 0.0,
                nesterov: false,
                step: 2,
            },
            12,
            true,
        ),
        (
            "adamw_noise",
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 1e-2,
                step: 2,
            },
            28,
            true,
        ),
    ];
    let mut g = c.benchmark_group("optim");
    g.sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    for threads in [1usize, 2] {
        g.throughput(Throughput::Bytes(8 * n as u64));
        g.bench_function(BenchmarkId::new("copy", threads), |bch| {
            bch.iter(|| copy_threads(&mut p, &grads, threads))
        });
        for (name, rule, bytes, noisy) in rules {
            g.throughput(Throughput::Bytes(bytes * n as u64));
            let noise = noisy.then_some((NoiseKey::new(1, 2), 0.01f32));
            g.bench_function(BenchmarkId::new(name, threads), |bch| {
                bch.iter(|| {
                    apply_update_threads(
                        &rule,
                        &mut p,
                        &grads,
                        &mut [&mut a, &mut b],
                        noise,
                        0,
                        threads,
                    )
                    .unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
