//! Criterion benches of the random-number layer: Philox words, the bulk normal fill (1 and 2
//! threads; the same bytes either way), the sequential Ziggurat normal. The same work in numpy is
//! timed by `benches/peers/rng_numpy.py`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use noisekit::rng::{bulk, philox4x32_10, seq, NoiseKey};

const N: usize = 10_000_000;

fn philox_words(c: &mut Criterion) {
    let mut g = c.benchmark_group("philox");
    g.throughput(Throughput::Elements((N / 4) as u64));
    g.bench_function("blocks_2.5M", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for i in 0..(N / 4) as u32 {
                acc ^= philox4x32_10([i, 0, 0, 0], [1, 2])[0];
            }
            black_box(acc)
        })
    });
    g.finish();
}

fn normal_fill(c: &mut Criterion) {
    let mut g = c.benchmark_group("normal_fill_10M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    let key = NoiseKey::new(7, 0);
    let mut out32 = vec![0f32; N];
    for threads in [1usize, 2] {
        g.bench_function(format!("philox_f32_{threads}t"), |b| {
            b.iter(|| bulk::fill_normal_f32_par(&key, black_box(&mut out32), threads))
        });
    }
    let mut out64 = vec![0f64; N];
    g.bench_function("philox_f64_1t", |b| {
        b.iter(|| bulk::fill_normal_f64(&key, black_box(&mut out64)))
    });
    let mut rng = seq::default_rng(1);
    g.bench_function("ziggurat_f64_1t", |b| {
        b.iter(|| {
            for o in out64.iter_mut() {
                *o = seq::normal(&mut rng);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, philox_words, normal_fill);
criterion_main!(benches);
