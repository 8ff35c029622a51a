//! Fractional noise benchmarks: Davies-Harte fBM (n = 2^16, 2^20, H = 0.7, eigenvalues cached in
//! the sampler), MA-fBM path generation (exact OU bank), LOTA extraction. Peer:
//! `benches/peers/fbm_davies_harte.py` (the `fbm` PyPI package), run in the same window.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use noisekit::bitplane::mgps::{mgps, PatchMode, Strategy};
use noisekit::bitplane::planes::noisy_image;
use noisekit::bitplane::{BitNorm, Image, ImageMut};
use noisekit::fractional::davies_harte::DaviesHarte;
use noisekit::fractional::mafbm::MafbmSampler;
use noisekit::fractional::{gamma_grid, omega_optimal, Kind, Normalisation};
use noisekit::rng::default_rng;
use std::hint::black_box;
use std::time::Duration;

fn davies_harte(c: &mut Criterion) {
    let mut g = c.benchmark_group("davies_harte_h0.7");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for &log_n in &[16u32, 20] {
        let n = 1usize << log_n;
        let mut dh = DaviesHarte::new(n, 0.7, 1.0).unwrap();
        let mut rng = default_rng(1);
        let (mut a, mut b) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        // Two independent paths per transform (real and imaginary parts).
        g.bench_with_input(
            BenchmarkId::new("pair_of_paths", format!("2^{log_n}")),
            &n,
            |bch, _| {
                bch.iter(|| {
                    dh.fbm_pair(&mut rng, &mut a, &mut b).unwrap();
                    black_box(a[n] + b[n])
                })
            },
        );
        // Cold: eigenvalues and plan recomputed every time, then one pair.
        g.bench_with_input(
            BenchmarkId::new("cold_setup_plus_pair", format!("2^{log_n}")),
            &n,
            |bch, _| {
                bch.iter(|| {
                    let mut d = DaviesHarte::new(n, 0.7, 1.0).unwrap();
                    d.fbm_pair(&mut rng, &mut a, &mut b).unwrap();
                    black_box(a[n])
                })
            },
        );
    }
    g.finish();
}

fn mafbm(c: &mut Criterion) {
    let mut g = c.benchmark_group("mafbm_exact_path");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for &(k, gm) in &[(5usize, 20.0), (20, 1000.0)] {
        let mut gam = vec![0.0; k];
        gamma_grid(gm, 0, &mut gam).unwrap();
        let mut w = vec![0.0; k];
        omega_optimal(&gam, 0.7, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        let n = 1usize << 16;
        let s = MafbmSampler::new(&gam, &w, Kind::TypeI, 1.0 / n as f64).unwrap();
        let mut rng = default_rng(2);
        let mut x = vec![0.0; n + 1];
        g.bench_function(BenchmarkId::new(format!("K{k}_gm{gm}"), "2^16"), |bch| {
            bch.iter(|| {
                s.sample(&mut rng, &mut x).unwrap();
                black_box(x[n])
            })
        });
    }
    g.finish();
}

fn lota(c: &mut Criterion) {
    let (h, w, ch) = (256usize, 256usize, 3usize);
    let px: Vec<u8> = (0..h * w * ch)
        .map(|k| ((k * 7919 + k / 768 * 31) % 256) as u8)
        .collect();
    let mut out = vec![0u8; px.len()];
    let mut rng = default_rng(3);
    c.bench_function("lota_extract_256x256_64crops", |bch| {
        bch.iter(|| {
            let img = Image::new(&px, h, w, ch).unwrap();
            let mut o = ImageMut::new(&mut out, h, w, ch).unwrap();
            noisy_image(&img, 3, BitNorm::default(), &mut o).unwrap();
            let n = Image::new(&out, h, w, ch).unwrap();
            black_box(
                mgps(
                    &n,
                    32,
                    Strategy::RandomCrops { n: 64 },
                    PatchMode::Max,
                    &mut rng,
                )
                .unwrap(),
            )
        })
    });
}

criterion_group!(benches, davies_harte, mafbm, lota);
criterion_main!(benches);
