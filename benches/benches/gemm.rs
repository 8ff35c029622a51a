//! CpuBackend sgemm at 1024^3 (matrixmultiply's packed AVX2/FMA kernel, rows of `C` split over
//! scoped threads) on 1 and 2 threads, in one run. The numpy peer is `benches/peers/rng_numpy.py`
//! (OpenBLAS pinned to the same thread counts by threadpoolctl).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use noisekit::backend::{gemm_slices_threads, Transpose};
use noisekit::rng::{bulk, NoiseKey};

fn sgemm(c: &mut Criterion) {
    let n = 1024;
    let mut a = vec![0f32; n * n];
    let mut b = vec![0f32; n * n];
    bulk::fill_normal_f32(&NoiseKey::new(1, 0), &mut a);
    bulk::fill_normal_f32(&NoiseKey::new(1, 1), &mut b);
    let mut out = vec![0f32; n * n];
    let mut g = c.benchmark_group("sgemm_1024");
    g.sample_size(20);
    g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    for threads in [1, 2] {
        g.bench_function(format!("cpu_threads_{threads}"), |bench| {
            bench.iter(|| {
                gemm_slices_threads(
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
                    threads,
                )
                .expect("shapes are consistent")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, sgemm);
criterion_main!(benches);
