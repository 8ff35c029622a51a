//! CPU/GPU parity of every `Backend` method, every update rule (with and without in-pass noise), a
//! DP-SGD step and a WTA-CRS-style sampled product. Each test needs a CUDA device and prints one
//! line `SKIP cuda: <reason>` (and passes) without one; run with `-- --nocapture` to see it.
//!
//! Agreement stated per method:
//! - bit-equal: Philox words, uniforms, normals (the kernel transcribes `rng::fastmath`'s
//!   branch-free ln/sincos; compiled with --fmad=false every operation rounds as in Rust), fill/add
//!   normal, copies, scale_rows, sum_rows, gather/scatter (same operation order on both sides), every
//!   update rule with and without in-pass noise;
//! - reductions in a different order (row norms, clip factors, cuBLAS gemm): the rounding bound of
//!   the sum, `2 n 2^-24 * sum |terms|`.

use noisekit::backend::{Backend, CpuBackend, Transpose, UpdateRule};
use noisekit::rng::bulk;
use noisekit::{Error, NoiseKey};
use noisekit_cuda::{CudaBackend, CudaBuf};

macro_rules! cuda_or_skip {
    () => {
        match noisekit_cuda::backend_or_skip() {
            Some(b) => b,
            None => return,
        }
    };
}

const U: f64 = 1.0 / 16_777_216.0; // 2^-24, unit roundoff of f32

fn data(n: usize, salt: u64) -> Vec<f32> {
    let key = NoiseKey::new(0xC0FFEE ^ salt, 99);
    let mut v = vec![0f32; n];
    bulk::fill_normal_f32(&key, &mut v);
    v
}

fn up(gpu: &CudaBackend, host: &[f32]) -> CudaBuf<f32> {
    gpu.upload(host).expect("upload")
}

fn down<T: noisekit::backend::Scalar>(gpu: &CudaBackend, buf: &CudaBuf<T>) -> Vec<T> {
    let mut h = vec![T::default(); buf.len()];
    gpu.download(buf, &mut h).expect("download");
    h
}

fn assert_bits(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}[{i}]: gpu {g:e} vs cpu {w:e} (must be bit-equal)"
        );
    }
}

/// Elementwise `|g - w| <= tol[i]`.
fn assert_within(got: &[f32], want: &[f32], tol: &[f64], what: &str) {
    for (i, ((g, w), t)) in got.iter().zip(want).zip(tol).enumerate() {
        assert!(
            ((g - w) as f64).abs() <= *t,
            "{what}[{i}]: gpu {g:e} vs cpu {w:e}, tol {t:e}"
        );
    }
}

#[test]
fn no_device_is_a_typed_error_never_a_panic() {
    match CudaBackend::new() {
        Ok(b) => println!("cuda device: {}", b.device_name().unwrap_or_default()),
        Err(Error::BackendUnavailable { backend, reason }) => {
            assert_eq!(backend, "cuda");
            println!("SKIP cuda: {reason}");
        }
        Err(e) => panic!("expected BackendUnavailable, got {e}"),
    }
}

#[test]
fn buffers_round_trip_for_every_scalar() {
    let gpu = cuda_or_skip!();
    let x = data(1001, 1);
    let mut b = up(&gpu, &x);
    assert_eq!(gpu.len(&b), 1001);
    assert_bits(&down(&gpu, &b), &x, "upload/download");
    let mut c = gpu.alloc::<f32>(1001).unwrap();
    assert!(down(&gpu, &c).iter().all(|v| *v == 0.0));
    gpu.copy(&b, &mut c).unwrap();
    assert_bits(&down(&gpu, &c), &x, "copy");
    gpu.zero(&mut b).unwrap();
    assert!(down(&gpu, &b).iter().all(|v| v.to_bits() == 0));
    let y = data(1001, 2);
    gpu.write(&y, &mut b).unwrap();
    assert_bits(&down(&gpu, &b), &y, "write");
    let d: Vec<f64> = (0..77).map(|i| i as f64 * 1e-300).collect();
    assert_eq!(down(&gpu, &gpu.upload(&d).unwrap()), d);
    let w: Vec<u32> = (0..77).map(|i| i * 0x9E37_79B9).collect();
    assert_eq!(down(&gpu, &gpu.upload(&w).unwrap()), w);
    let e = gpu.upload::<f32>(&[]).unwrap();
    assert_eq!(down(&gpu, &e), Vec::<f32>::new());
    // typed length errors, as on the CPU
    assert!(matches!(
        gpu.write(&[1.0f32; 3], &mut b),
        Err(Error::ShapeMismatch { op: "write", .. })
    ));
    assert!(matches!(
        gpu.download(&b, &mut [0.0f32; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut small = gpu.alloc::<f32>(3).unwrap();
    assert!(matches!(
        gpu.copy(&b, &mut small),
        Err(Error::ShapeMismatch { op: "copy", .. })
    ));
}

#[test]
fn philox_words_and_uniforms_are_bit_equal() {
    let gpu = cuda_or_skip!();
    for key in [
        NoiseKey::new(0, 0),
        NoiseKey::new(7, 3).advanced(u64::MAX - 2),
        NoiseKey::new(u64::MAX, 1 << 31),
    ] {
        for n in [1usize, 3, 4, 5, 1023, 100_003] {
            let mut w = gpu.alloc::<u32>(n).unwrap();
            gpu.philox_words(key, &mut w).unwrap();
            let got = down(&gpu, &w);
            for (i, g) in got.iter().enumerate() {
                assert_eq!(*g, key.block(i as u64 / 4)[i % 4], "word {i} of {key:?}");
            }
            let mut u = gpu.alloc::<f32>(n).unwrap();
            gpu.fill_uniform(key, &mut u).unwrap();
            let mut want = vec![0f32; n];
            bulk::fill_uniform_f32(&key, &mut want);
            assert_bits(&down(&gpu, &u), &want, "uniform");
        }
    }
}

#[test]
fn fill_normal_and_add_normal_match_cpu_philox() {
    let gpu = cuda_or_skip!();
    let cpu = CpuBackend;
    for key in [
        NoiseKey::new(1, 0),
        NoiseKey::new(123, 9).advanced(77),
        NoiseKey::new(u64::MAX, 5).advanced(u64::MAX),
    ] {
        for n in [1usize, 2, 5, 4099, 1_000_001] {
            let mut zg = gpu.alloc::<f32>(n).unwrap();
            gpu.fill_normal(key, &mut zg).unwrap();
            let mut zc = vec![0f32; n];
            cpu.fill_normal(key, &mut zc).unwrap();
            assert_bits(&down(&gpu, &zg), &zc, "fill_normal");
            let x = data(n, 3);
            let mut xg = up(&gpu, &x);
            let mut xc = x.clone();
            gpu.add_normal(key, 0.7, &mut xg).unwrap();
            cpu.add_normal(key, 0.7, &mut xc).unwrap();
            assert_bits(&down(&gpu, &xg), &xc, "add_normal");
        }
    }
    let mut x = gpu.alloc::<f32>(4).unwrap();
    assert!(matches!(
        gpu.add_normal(NoiseKey::new(1, 1), -1.0, &mut x),
        Err(Error::InvalidParam { name: "sigma", .. })
    ));
}

#[allow(clippy::too_many_arguments)]
fn gemm_case(
    gpu: &CudaBackend,
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
) {
    let a = data(m * k, 10);
    let b = data(k * n, 11);
    let c0 = data(m * n, 12);
    let mut cc = c0.clone();
    CpuBackend
        .gemm(ta, tb, m, n, k, alpha, &a, &b, beta, &mut cc)
        .unwrap();
    let mut cg = up(gpu, &c0);
    gpu.gemm(
        ta,
        tb,
        m,
        n,
        k,
        alpha,
        &up(gpu, &a),
        &up(gpu, &b),
        beta,
        &mut cg,
    )
    .unwrap();
    // |error| <= 2 k u (|alpha| |A||B| + |beta| |C|) for both sides, computed in f64
    let at = |i: usize, l: usize| {
        if ta == Transpose::No {
            a[i * k + l]
        } else {
            a[l * m + i]
        }
    };
    let bt = |l: usize, j: usize| {
        if tb == Transpose::No {
            b[l * n + j]
        } else {
            b[j * k + l]
        }
    };
    let tol: Vec<f64> = (0..m * n)
        .map(|e| {
            let (i, j) = (e / n, e % n);
            let s: f64 = (0..k)
                .map(|l| (at(i, l) as f64 * bt(l, j) as f64).abs())
                .sum();
            2.0 * (k as f64 + 2.0)
                * U
                * (alpha.abs() as f64 * s + beta.abs() as f64 * c0[e].abs() as f64)
                + 1e-30
        })
        .collect();
    assert_within(
        &down(gpu, &cg),
        &cc,
        &tol,
        &format!("gemm {ta:?} {tb:?} {m}x{n}x{k}"),
    );
}

#[test]
fn gemm_matches_cpu_for_every_transpose() {
    let gpu = cuda_or_skip!();
    for ta in [Transpose::No, Transpose::Yes] {
        for tb in [Transpose::No, Transpose::Yes] {
            gemm_case(&gpu, ta, tb, 3, 5, 4, 1.5, 0.5);
            gemm_case(&gpu, ta, tb, 67, 129, 33, 1.0, 0.0);
            gemm_case(&gpu, ta, tb, 1, 300, 257, -0.5, 2.0);
        }
    }
    gemm_case(&gpu, Transpose::No, Transpose::No, 4, 6, 0, 1.0, 0.25); // k = 0: C *= beta
    let mut c = gpu.alloc::<f32>(4).unwrap();
    let e = gpu
        .gemm(
            Transpose::No,
            Transpose::No,
            2,
            2,
            3,
            1.0,
            &gpu.alloc(5).unwrap(),
            &gpu.alloc(6).unwrap(),
            0.0,
            &mut c,
        )
        .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "gemm A", .. }));
}

#[test]
fn row_methods_match_cpu() {
    let gpu = cuda_or_skip!();
    let cpu = CpuBackend;
    for (rows, cols) in [
        (1usize, 1usize),
        (7, 3),
        (64, 1000),
        (3, 70_001),
        (2000, 17),
    ] {
        let x = data(rows * cols, 20);
        let xg = up(&gpu, &x);
        // row_sq_norms: different summation order, bound 2 cols u sum x^2
        let mut nc = vec![0f32; rows];
        cpu.row_sq_norms(&x, rows, cols, &mut nc).unwrap();
        let mut ng = gpu.alloc::<f32>(rows).unwrap();
        gpu.row_sq_norms(&xg, rows, cols, &mut ng).unwrap();
        let tol: Vec<f64> = nc
            .iter()
            .map(|v| 2.0 * cols as f64 * U * *v as f64)
            .collect();
        assert_within(&down(&gpu, &ng), &nc, &tol, "row_sq_norms");
        // scale_rows and sum_rows: same order, bit-equal
        let f = data(rows, 21);
        let mut xc = x.clone();
        cpu.scale_rows(&mut xc, rows, cols, &f).unwrap();
        let mut xs = up(&gpu, &x);
        gpu.scale_rows(&mut xs, rows, cols, &up(&gpu, &f)).unwrap();
        assert_bits(&down(&gpu, &xs), &xc, "scale_rows");
        let mut sc = vec![0f32; cols];
        cpu.sum_rows(&x, rows, cols, &mut sc).unwrap();
        let mut sg = up(&gpu, &vec![5.0; cols]);
        gpu.sum_rows(&xg, rows, cols, &mut sg).unwrap();
        assert_bits(&down(&gpu, &sg), &sc, "sum_rows");
    }
    let mut out = gpu.alloc::<f32>(2).unwrap();
    assert!(matches!(
        gpu.row_sq_norms(&gpu.alloc(5).unwrap(), 2, 3, &mut out),
        Err(Error::ShapeMismatch {
            op: "row_sq_norms",
            ..
        })
    ));
}

/// CPU and GPU clip-and-sum; the bound covers the clip factors' different reduction order.
fn check_clip_sum(gpu: &CudaBackend, g: &[f32], rows: usize, cols: usize, clip: f32) -> Vec<f32> {
    let mut oc = vec![0f32; cols];
    CpuBackend
        .clip_rows_and_sum(&g.to_vec(), rows, cols, clip, &mut oc)
        .unwrap();
    let mut og = up(gpu, &vec![3.0; cols]);
    gpu.clip_rows_and_sum(&up(gpu, g), rows, cols, clip, &mut og)
        .unwrap();
    // factor relative error <= (cols + 2) u on each side; sum of |f g| terms: rows u
    let tol: Vec<f64> = (0..cols)
        .map(|c| {
            let s: f64 = (0..rows).map(|r| g[r * cols + c].abs() as f64).sum();
            2.0 * (cols + rows + 4) as f64 * U * s + 1e-30
        })
        .collect();
    let got = down(gpu, &og);
    assert_within(&got, &oc, &tol, &format!("clip_rows_and_sum {rows}x{cols}"));
    got
}

#[test]
fn clip_rows_and_sum_matches_cpu() {
    let gpu = cuda_or_skip!();
    for (rows, cols) in [
        (1usize, 1usize),
        (3, 2),
        (256, 1000),
        (4096, 33),
        (2, 200_000),
    ] {
        let mut g = data(rows * cols, 30);
        if rows > 2 {
            g[cols..2 * cols].fill(0.0); // a zero row contributes nothing
            g[2 * cols..3 * cols].iter_mut().for_each(|v| *v *= 1e-3); // a row below the clip
        }
        check_clip_sum(&gpu, &g, rows, cols, 1.0);
    }
    // the hand example of CpuBackend's unit test
    let got = check_clip_sum(&gpu, &[3., 4., 0.3, 0.4, 0., 0.], 3, 2, 1.0);
    assert!((got[0] - 0.9).abs() < 1e-6 && (got[1] - 1.2).abs() < 1e-6);
    let mut out = gpu.alloc::<f32>(2).unwrap();
    let g = gpu.alloc::<f32>(6).unwrap();
    assert!(matches!(
        gpu.clip_rows_and_sum(&g, 3, 2, 0.0, &mut out),
        Err(Error::InvalidParam { name: "clip", .. })
    ));
}

/// One DP-SGD step on both backends: clip per-example gradients, sum, add N(0, (sigma C)^2) noise.
#[test]
fn dp_sgd_step_matches_cpu() {
    let gpu = cuda_or_skip!();
    let (batch, dim, clip, mult) = (512usize, 10_000usize, 1.0f32, 1.1f32);
    let g = data(batch * dim, 40);
    let key = NoiseKey::new(2026, 4).advanced(1 << 20);
    let mut sc = vec![0f32; dim];
    CpuBackend
        .clip_rows_and_sum(&g, batch, dim, clip, &mut sc)
        .unwrap();
    let clean = sc.clone();
    CpuBackend.add_normal(key, mult * clip, &mut sc).unwrap();
    let mut sg = gpu.alloc::<f32>(dim).unwrap();
    gpu.clip_rows_and_sum(&up(&gpu, &g), batch, dim, clip, &mut sg)
        .unwrap();
    gpu.add_normal(key, mult * clip, &mut sg).unwrap();
    let tol: Vec<f64> = (0..dim)
        .map(|c| {
            let s: f64 = (0..batch).map(|r| g[r * dim + c].abs() as f64).sum();
            // the clipped sums differ by the factor bound; the (bit-equal) noise is then added
            // with one rounding on each side
            2.0 * (dim + batch + 4) as f64 * U * s + 2.0 * U * (clean[c].abs() + sc[c].abs()) as f64
        })
        .collect();
    assert_within(&down(&gpu, &sg), &sc, &tol, "dp-sgd noisy sum");
}

fn rules() -> Vec<UpdateRule> {
    vec![
        UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.01,
            nesterov: false,
            step: 1,
        },
        UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 0.01,
            nesterov: false,
            step: 1,
        },
        UpdateRule::Sgd {
            lr: 0.05,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: true,
            step: 1,
        },
        UpdateRule::AdamW {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            step: 1,
        },
        UpdateRule::SgdSai {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 1e-4,
            gsnr: 0.37,
            step: 1,
        },
    ]
}

#[test]
fn every_update_rule_matches_cpu_with_and_without_noise() {
    let gpu = cuda_or_skip!();
    let cpu = CpuBackend;
    for n in [1usize, 6, 4097, 300_001] {
        for rule in rules() {
            for noisy in [false, true] {
                let ns = rule.state_buffers();
                let mut pc = data(n, 50);
                let mut sc: Vec<Vec<f32>> = (0..ns).map(|_| vec![0f32; n]).collect();
                let mut pg = up(&gpu, &pc);
                let mut sg: Vec<CudaBuf<f32>> = (0..ns).map(|_| gpu.alloc(n).unwrap()).collect();
                for step in 1..=3u64 {
                    let g = data(n, 60 + step);
                    let noise = noisy.then(|| (NoiseKey::new(77, 5).advanced(step << 32), 0.25f32));
                    let r = rule.at_step(step);
                    cpu.fused_update(&r, &mut pc, &g, &mut sc, noise).unwrap();
                    gpu.fused_update(&r, &mut pg, &up(&gpu, &g), &mut sg, noise)
                        .unwrap();
                }
                let what = format!("{rule:?} n={n} noise={noisy}");
                let got = down(&gpu, &pg);
                assert_bits(&got, &pc, &what);
                for (sgi, c) in sg.iter().zip(&sc) {
                    assert_bits(&down(&gpu, sgi), c, &format!("{what} state"));
                }
            }
        }
    }
}

#[test]
fn update_rule_errors_match_cpu() {
    let gpu = cuda_or_skip!();
    let rule = UpdateRule::AdamW {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step: 1,
    };
    let mut p = gpu.alloc::<f32>(8).unwrap();
    let g = gpu.alloc::<f32>(8).unwrap();
    let mut one = vec![gpu.alloc::<f32>(8).unwrap()];
    let e = gpu
        .fused_update(&rule, &mut p, &g, &mut one, None)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "state", .. }),
        "{e}"
    );
    let bad = UpdateRule::AdamW {
        lr: 1e-3,
        beta1: 1.0,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        step: 1,
    };
    let mut two = vec![gpu.alloc::<f32>(8).unwrap(), gpu.alloc::<f32>(8).unwrap()];
    let e = gpu
        .fused_update(&bad, &mut p, &g, &mut two, None)
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "beta1", .. }),
        "{e}"
    );
    let short = gpu.alloc::<f32>(7).unwrap();
    let e = gpu
        .fused_update(&rule, &mut p, &short, &mut two, None)
        .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { op: "grads", .. }), "{e}");
    let e = gpu
        .fused_update(
            &rule,
            &mut p,
            &g,
            &mut two,
            Some((NoiseKey::new(1, 1), -0.5)),
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { name: "sigma", .. }),
        "{e}"
    );
}

#[test]
fn gather_and_scatter_are_bit_equal() {
    let gpu = cuda_or_skip!();
    let cpu = CpuBackend;
    let (rows, cols) = (37usize, 513usize);
    let x = data(rows * cols, 70);
    let xg = up(&gpu, &x);
    let idx: Vec<u32> = vec![3, 512, 0, 3, 200, 17];
    let scale: Vec<f32> = data(idx.len(), 71);
    let mut oc = vec![0f32; rows * idx.len()];
    cpu.gather_cols(&x, rows, cols, &idx, &scale, &mut oc)
        .unwrap();
    let mut og = gpu.alloc::<f32>(rows * idx.len()).unwrap();
    gpu.gather_cols(&xg, rows, cols, &idx, &scale, &mut og)
        .unwrap();
    assert_bits(&down(&gpu, &og), &oc, "gather_cols");
    let ridx: Vec<u32> = vec![36, 0, 5, 5];
    let rscale = data(ridx.len(), 72);
    let mut rc = vec![0f32; ridx.len() * cols];
    cpu.gather_rows(&x, cols, &ridx, &rscale, &mut rc).unwrap();
    let mut rg = gpu.alloc::<f32>(ridx.len() * cols).unwrap();
    gpu.gather_rows(&xg, cols, &ridx, &rscale, &mut rg).unwrap();
    assert_bits(&down(&gpu, &rg), &rc, "gather_rows");
    // repeated destination rows add in idx order on both sides
    let mut dc = x.clone();
    cpu.scatter_add_rows(&rc, cols, &ridx, &mut dc).unwrap();
    let mut dg = up(&gpu, &x);
    gpu.scatter_add_rows(&rg, cols, &ridx, &mut dg).unwrap();
    assert_bits(&down(&gpu, &dg), &dc, "scatter_add_rows");
    // out-of-range indices are typed errors, as on the CPU
    let e = gpu
        .gather_cols(
            &xg,
            rows,
            cols,
            &[513],
            &[1.0],
            &mut gpu.alloc(rows).unwrap(),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParam {
                name: "gather_cols idx",
                ..
            }
        ),
        "{e}"
    );
    let e = gpu
        .gather_rows(&xg, cols, &[37], &[1.0], &mut gpu.alloc(cols).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParam {
                name: "gather_rows idx",
                ..
            }
        ),
        "{e}"
    );
    let e = gpu
        .scatter_add_rows(&gpu.alloc(cols).unwrap(), cols, &[40], &mut dg)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParam {
                name: "scatter_add_rows idx",
                ..
            }
        ),
        "{e}"
    );
}

/// WTA-CRS-style sampled product: keep columns `idx` of A (m x n) and the matching rows of B
/// (n x p), each scaled by `1 / (k p_j)` once (sqrt on each side), then multiply.
#[test]
fn wta_crs_gather_then_gemm_matches_cpu() {
    let gpu = cuda_or_skip!();
    let cpu = CpuBackend;
    let (m, n, p) = (64usize, 1024usize, 48usize);
    let a = data(m * n, 80);
    let b = data(n * p, 81);
    // deterministic top columns plus a sampled tail (indices fixed here; the estimator is not tested)
    let idx: Vec<u32> = (0..96u32).map(|j| (j * 37 + 5) % n as u32).collect();
    let probs: Vec<f32> = idx
        .iter()
        .map(|&j| 0.5 / n as f32 + (j % 7) as f32 / (7.0 * n as f32))
        .collect();
    let k = idx.len();
    let scale: Vec<f32> = probs
        .iter()
        .map(|q| 1.0 / libm_sqrt(k as f32 * q))
        .collect();
    let mut ac = vec![0f32; m * k];
    cpu.gather_cols(&a, m, n, &idx, &scale, &mut ac).unwrap();
    let mut bc = vec![0f32; k * p];
    cpu.gather_rows(&b, p, &idx, &scale, &mut bc).unwrap();
    let mut cc = vec![0f32; m * p];
    cpu.gemm(
        Transpose::No,
        Transpose::No,
        m,
        p,
        k,
        1.0,
        &ac,
        &bc,
        0.0,
        &mut cc,
    )
    .unwrap();
    let mut ag = gpu.alloc::<f32>(m * k).unwrap();
    gpu.gather_cols(&up(&gpu, &a), m, n, &idx, &scale, &mut ag)
        .unwrap();
    let mut bg = gpu.alloc::<f32>(k * p).unwrap();
    gpu.gather_rows(&up(&gpu, &b), p, &idx, &scale, &mut bg)
        .unwrap();
    assert_bits(&down(&gpu, &ag), &ac, "wta-crs A columns");
    assert_bits(&down(&gpu, &bg), &bc, "wta-crs B rows");
    let mut cg = gpu.alloc::<f32>(m * p).unwrap();
    gpu.gemm(
        Transpose::No,
        Transpose::No,
        m,
        p,
        k,
        1.0,
        &ag,
        &bg,
        0.0,
        &mut cg,
    )
    .unwrap();
    let tol: Vec<f64> = (0..m * p)
        .map(|e| {
            let (i, j) = (e / p, e % p);
            let s: f64 = (0..k)
                .map(|l| (ac[i * k + l] as f64 * bc[l * p + j] as f64).abs())
                .sum();
            2.0 * (k + 2) as f64 * U * s
        })
        .collect();
    assert_within(&down(&gpu, &cg), &cc, &tol, "wta-crs product");
}

fn libm_sqrt(x: f32) -> f32 {
    (x as f64).sqrt() as f32
}
