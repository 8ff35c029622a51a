//! CpuBackend sgemm at 1024^3 (matrixmultiply's packed AVX2/FMA kernel). Thread count comes from
//! `MATMUL_NUM_THREADS` (read once per process), so run once per count:
//! `MATMUL_NUM_THREADS=1 cargo bench --bench gemm` and `MATMUL_NUM_THREADS=2 cargo bench --bench gemm`.
//! The numpy peer is `benches/peers/rng_numpy.py`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use noisekit::backend::Transpose;
use noisekit::rng::{bulk, NoiseKey};
use noisekit::{Backend, CpuBackend};

fn sgemm(c: &mut Criterion) {
    let n = 1024;
    let be = CpuBackend;
    let mut a = vec![0f32; n * n];
    let mut b = vec![0f32; n * n];
    bulk::fill_normal_f32(&NoiseKey::new(1, 0), &mut a);
    bulk::fill_normal_f32(&NoiseKey::new(1, 1), &mut b);
    let mut out = vec![0f32; n * n];
    let threads = std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let mut g = c.benchmark_group("sgemm_1024");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    g.bench_function(format!("cpu_threads_{threads}"), |bench| {
        bench.iter(|| {
            be.gemm(
                Transpose::No,
                Transpose::No,
                n,
                n,
                n,
                1.0,
                &a,
                &b,
                0.0,
                black_box(&mut out),
            )
            .expect("shapes are consistent")
        })
    });
    g.finish();
}

criterion_group!(benches, sgemm);
criterion_main!(benches);
