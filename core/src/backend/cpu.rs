//! `CpuBackend`: the reference backend on host memory (`Vec<T>` buffers). gemm uses the
//! `matrixmultiply` crate (the packed micro-kernel gemm nalgebra uses, AVX2/FMA detected at run time
//! under `std`), single-threaded per call; under `std` large products are split by rows of `C`
//! over scoped threads ([`gemm_slices_threads`]), which scales better than matrixmultiply's own
//! threading (1024^3 on 2 cores: 127 vs 97 GFLOP/s) and gives the same bits for any thread count
//! (each element is computed by the same kernel over the same `k` blocking). The rest are straight
//! loops over slices, each a single pass.

use alloc::vec;
use alloc::vec::Vec;

#[cfg(not(feature = "std"))]
use super::apply_update;
use super::{check_gemm, Backend, Scalar, Transpose, UpdateRule};
use crate::error::check::{self, indices as check_indices, matrix as check_matrix};
use crate::error::Result;
use crate::rng::{bulk, NoiseKey};

/// The host (CPU) backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// A CPU backend.
    pub const fn new() -> Self {
        CpuBackend
    }
}

/// Tensors at least this long run the fused update on every available core (`std`).
#[cfg(feature = "std")]
const THREADED_UPDATE_MIN: usize = 1 << 20;

#[cfg(feature = "std")]
fn fused(
    rule: &UpdateRule,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
) -> Result<()> {
    let threads = if params.len() >= THREADED_UPDATE_MIN {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    };
    crate::update::apply_update_threads(rule, params, grads, state, noise, 0, threads)
}

#[cfg(not(feature = "std"))]
fn fused(
    rule: &UpdateRule,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
) -> Result<()> {
    apply_update(rule, params, grads, state, noise, 0)
}

impl Backend for CpuBackend {
    type Buf<T: Scalar> = Vec<T>;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn alloc<T: Scalar>(&self, n: usize) -> Result<Vec<T>> {
        Ok(vec![T::default(); n])
    }

    fn len<T: Scalar>(&self, buf: &Vec<T>) -> usize {
        buf.len()
    }

    fn upload<T: Scalar>(&self, host: &[T]) -> Result<Vec<T>> {
        Ok(host.to_vec())
    }

    fn write<T: Scalar>(&self, host: &[T], dst: &mut Vec<T>) -> Result<()> {
        check::same_len("write", dst.len(), host.len())?;
        dst.copy_from_slice(host);
        Ok(())
    }

    fn download<T: Scalar>(&self, src: &Vec<T>, host: &mut [T]) -> Result<()> {
        check::same_len("download", src.len(), host.len())?;
        host.copy_from_slice(src);
        Ok(())
    }

    fn copy<T: Scalar>(&self, src: &Vec<T>, dst: &mut Vec<T>) -> Result<()> {
        check::same_len("copy", dst.len(), src.len())?;
        dst.copy_from_slice(src);
        Ok(())
    }

    fn zero<T: Scalar>(&self, buf: &mut Vec<T>) -> Result<()> {
        buf.fill(T::default());
        Ok(())
    }

    fn gemm(
        &self,
        ta: Transpose,
        tb: Transpose,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &Vec<f32>,
        b: &Vec<f32>,
        beta: f32,
        c: &mut Vec<f32>,
    ) -> Result<()> {
        gemm_slices(ta, tb, m, n, k, alpha, a, b, beta, c)
    }

    fn row_sq_norms(
        &self,
        x: &Vec<f32>,
        rows: usize,
        cols: usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        check_matrix("row_sq_norms", x.len(), rows, cols)?;
        check::same_len("row_sq_norms out", rows, out.len())?;
        if cols == 0 {
            out.fill(0.0);
            return Ok(());
        }
        for (o, row) in out.iter_mut().zip(x.chunks_exact(cols)) {
            *o = row.iter().map(|v| v * v).sum();
        }
        Ok(())
    }

    fn scale_rows(
        &self,
        x: &mut Vec<f32>,
        rows: usize,
        cols: usize,
        factors: &Vec<f32>,
    ) -> Result<()> {
        check_matrix("scale_rows", x.len(), rows, cols)?;
        check::same_len("scale_rows factors", rows, factors.len())?;
        if cols == 0 {
            return Ok(());
        }
        for (row, &f) in x.chunks_exact_mut(cols).zip(factors) {
            row.iter_mut().for_each(|v| *v *= f);
        }
        Ok(())
    }

    fn sum_rows(&self, x: &Vec<f32>, rows: usize, cols: usize, out: &mut Vec<f32>) -> Result<()> {
        check_matrix("sum_rows", x.len(), rows, cols)?;
        check::same_len("sum_rows out", cols, out.len())?;
        out.fill(0.0);
        if cols == 0 {
            return Ok(());
        }
        for row in x.chunks_exact(cols) {
            out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
        }
        Ok(())
    }

    fn clip_rows_and_sum(
        &self,
        g: &Vec<f32>,
        rows: usize,
        cols: usize,
        clip: f32,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        check_matrix("clip_rows_and_sum", g.len(), rows, cols)?;
        check::same_len("clip_rows_and_sum out", cols, out.len())?;
        check::positive("clip", clip as f64)?;
        out.fill(0.0);
        if cols == 0 {
            return Ok(());
        }
        for row in g.chunks_exact(cols) {
            let norm = libm::sqrtf(row.iter().map(|v| v * v).sum::<f32>());
            if norm == 0.0 {
                continue;
            }
            let f = (clip / norm).min(1.0);
            out.iter_mut().zip(row).for_each(|(o, v)| *o += f * v);
        }
        Ok(())
    }

    fn fill_normal(&self, key: NoiseKey, x: &mut Vec<f32>) -> Result<()> {
        bulk::fill_normal_f32(&key, x);
        Ok(())
    }

    fn add_normal(&self, key: NoiseKey, sigma: f32, x: &mut Vec<f32>) -> Result<()> {
        check::non_negative("sigma", sigma as f64)?;
        bulk::add_normal_f32(&key, sigma, x);
        Ok(())
    }

    fn fused_update(
        &self,
        rule: &UpdateRule,
        params: &mut Vec<f32>,
        grads: &Vec<f32>,
        state: &mut [Vec<f32>],
        noise: Option<(NoiseKey, f32)>,
    ) -> Result<()> {
        let mut st: [&mut [f32]; 2] = [&mut [], &mut []];
        let k = state.len().min(2);
        for (slot, buf) in st.iter_mut().zip(state.iter_mut()) {
            *slot = buf.as_mut_slice();
        }
        fused(rule, params, grads, &mut st[..k], noise)
    }

    fn gather_cols(
        &self,
        x: &Vec<f32>,
        rows: usize,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<()> {
        check_matrix("gather_cols", x.len(), rows, cols)?;
        check::same_len("gather_cols scale", idx.len(), scale.len())?;
        check_matrix("gather_cols out", out.len(), rows, idx.len())?;
        check_indices("gather_cols idx", idx, cols)?;
        let k = idx.len();
        if k == 0 || cols == 0 {
            return Ok(());
        }
        for (orow, xrow) in out.chunks_exact_mut(k).zip(x.chunks_exact(cols)) {
            for ((o, &i), &s) in orow.iter_mut().zip(idx).zip(scale) {
                *o = xrow[i as usize] * s;
            }
        }
        Ok(())
    }

    fn gather_rows(
        &self,
        x: &Vec<f32>,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let rows = x.len().checked_div(cols).unwrap_or(0);
        check_matrix("gather_rows", x.len(), rows, cols)?;
        check::same_len("gather_rows scale", idx.len(), scale.len())?;
        check_matrix("gather_rows out", out.len(), idx.len(), cols)?;
        check_indices("gather_rows idx", idx, rows)?;
        if cols == 0 {
            return Ok(());
        }
        for ((orow, &i), &s) in out.chunks_exact_mut(cols).zip(idx).zip(scale) {
            let src = &x[i as usize * cols..(i as usize + 1) * cols];
            orow.iter_mut().zip(src).for_each(|(o, v)| *o = v * s);
        }
        Ok(())
    }

    fn scatter_add_rows(
        &self,
        src: &Vec<f32>,
        cols: usize,
        idx: &[u32],
        dst: &mut Vec<f32>,
    ) -> Result<()> {
        check_matrix("scatter_add_rows src", src.len(), idx.len(), cols)?;
        let rows = dst.len().checked_div(cols).unwrap_or(0);
        check_matrix("scatter_add_rows dst", dst.len(), rows, cols)?;
        check_indices("scatter_add_rows idx", idx, rows)?;
        if cols == 0 {
            return Ok(());
        }
        for (srow, &i) in src.chunks_exact(cols).zip(idx) {
            let d = &mut dst[i as usize * cols..(i as usize + 1) * cols];
            d.iter_mut().zip(srow).for_each(|(o, v)| *o += v);
        }
        Ok(())
    }
}

/// Row-major `C = alpha op(A) op(B) + beta C` on slices (the CPU gemm behind [`CpuBackend::gemm`]),
/// on [`gemm_threads`] threads.
#[allow(clippy::too_many_arguments)]
pub fn gemm_slices(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) -> Result<()> {
    gemm_slices_threads(ta, tb, m, n, k, alpha, a, b, beta, c, gemm_threads())
}

/// Threads [`gemm_slices`] uses: `MATMUL_NUM_THREADS` when set to a positive integer, else the
/// machine's available parallelism (read once per process); 1 without `std`.
pub fn gemm_threads() -> usize {
    #[cfg(feature = "std")]
    {
        static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *THREADS.get_or_init(|| {
            std::env::var("MATMUL_NUM_THREADS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&t| t > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        })
    }
    #[cfg(not(feature = "std"))]
    {
        1
    }
}

/// Products below this many multiply-adds run on one thread (a thread start costs ~20 us).
const GEMM_SPLIT_MACS: usize = 1 << 24;
/// Fewest rows of `C` a thread takes.
const GEMM_MIN_ROWS: usize = 64;

/// [`gemm_slices`] on `threads` threads (`0` is taken as 1): rows of `C` are split into contiguous
/// bands, one per thread; the result is bit-identical for any `threads`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_slices_threads(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    threads: usize,
) -> Result<()> {
    check_gemm(ta, tb, m, n, k, a.len(), b.len(), c.len())?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        c.iter_mut().for_each(|v| *v *= beta);
        return Ok(());
    }
    // Strides of op(A) (m x k) and op(B) (k x n) over row-major storage.
    let (rsa, csa) = if ta == Transpose::No { (k, 1) } else { (1, m) };
    let (rsb, csb) = if tb == Transpose::No { (n, 1) } else { (1, k) };
    let band = |row0: usize, rows: usize, c_band: &mut [f32]| {
        // SAFETY: the shape checks above bound every index of op(A) rows `row0..row0 + rows`
        // (offset `row0 * rsa`), of op(B) and of this band of `C` (`rows x n`, row stride `n`).
        unsafe {
            matrixmultiply::sgemm(
                rows,
                k,
                n,
                alpha,
                a.as_ptr().add(row0 * rsa),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                beta,
                c_band.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    };
    let macs = m.saturating_mul(n).saturating_mul(k);
    let threads = threads.clamp(1, (m / GEMM_MIN_ROWS).max(1));
    if threads == 1 || macs < GEMM_SPLIT_MACS || cfg!(not(feature = "std")) {
        band(0, m, c);
        return Ok(());
    }
    #[cfg(feature = "std")]
    {
        let rows_per = m.div_ceil(threads);
        std::thread::scope(|s| {
            for (j, c_band) in c.chunks_mut(rows_per * n).enumerate() {
                let band = &band;
                s.spawn(move || band(j * rows_per, c_band.len() / n, c_band));
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Row-split threading gives the same bits as one thread, for every transpose combination,
    /// and matches a naive f64 product.
    #[cfg(feature = "std")]
    #[test]
    fn threaded_gemm_is_bit_identical_and_correct() {
        let (m, n, k) = (320, 256, 224); // 18.4M multiply-adds: above the split threshold
        let mut a = vec![0f32; m * k];
        let mut b = vec![0f32; k * n];
        bulk::fill_normal_f32(&NoiseKey::new(3, 0), &mut a);
        bulk::fill_normal_f32(&NoiseKey::new(3, 1), &mut b);
        for (ta, tb) in [
            (Transpose::No, Transpose::No),
            (Transpose::Yes, Transpose::No),
            (Transpose::No, Transpose::Yes),
            (Transpose::Yes, Transpose::Yes),
        ] {
            let at = |i: usize, p: usize| {
                if ta == Transpose::No {
                    a[i * k + p]
                } else {
                    a[p * m + i]
                }
            };
            let bt = |p: usize, j: usize| {
                if tb == Transpose::No {
                    b[p * n + j]
                } else {
                    b[j * k + p]
                }
            };
            let c0: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut one = c0.clone();
            gemm_slices_threads(ta, tb, m, n, k, 0.5, &a, &b, 0.25, &mut one, 1).unwrap();
            for threads in [2, 3, 5] {
                let mut many = c0.clone();
                gemm_slices_threads(ta, tb, m, n, k, 0.5, &a, &b, 0.25, &mut many, threads)
                    .unwrap();
                assert!(
                    one.iter()
                        .zip(&many)
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{ta:?} {tb:?} threads {threads}"
                );
            }
            for &(i, j) in &[(0, 0), (m - 1, n - 1), (161, 77), (64, 200)] {
                let dot: f64 = (0..k).map(|p| at(i, p) as f64 * bt(p, j) as f64).sum();
                let want = 0.5 * dot + 0.25 * c0[i * n + j] as f64;
                assert!(
                    (one[i * n + j] as f64 - want).abs() < 1e-4,
                    "{ta:?} {tb:?} ({i},{j})"
                );
            }
        }
    }

    #[test]
    fn gemm_matches_hand_product_with_transposes() {
        let be = CpuBackend;
        // A = [[1,2,3],[4,5,6]] (2x3), B = [[1,0],[0,1],[1,1]] (3x2): AB = [[4,5],[10,11]]
        let a = vec![1., 2., 3., 4., 5., 6.];
        let b = vec![1., 0., 0., 1., 1., 1.];
        let mut c = vec![1.0f32; 4];
        be.gemm(
            Transpose::No,
            Transpose::No,
            2,
            2,
            3,
            1.0,
            &a,
            &b,
            0.5,
            &mut c,
        )
        .unwrap();
        assert_eq!(c, vec![4.5, 5.5, 10.5, 11.5]);
        // A^T stored: At = [[1,4],[2,5],[3,6]]; B^T stored: Bt = [[1,0,1],[0,1,1]]
        let at = vec![1., 4., 2., 5., 3., 6.];
        let bt = vec![1., 0., 1., 0., 1., 1.];
        let mut c2 = vec![0.0f32; 4];
        be.gemm(
            Transpose::Yes,
            Transpose::Yes,
            2,
            2,
            3,
            2.0,
            &at,
            &bt,
            0.0,
            &mut c2,
        )
        .unwrap();
        assert_eq!(c2, vec![8., 10., 20., 22.]);
    }

    #[test]
    fn gemm_rejects_bad_shapes() {
        let be = CpuBackend;
        let mut c = vec![0.0f32; 4];
        let err = be
            .gemm(
                Transpose::No,
                Transpose::No,
                2,
                2,
                3,
                1.0,
                &vec![0.; 5],
                &vec![0.; 6],
                0.0,
                &mut c,
            )
            .unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { op: "gemm A", .. }));
    }

    #[test]
    fn clip_rows_and_sum_clips_each_row() {
        let be = CpuBackend;
        // rows: (3,4) norm 5 -> clipped to 1 => (0.6, 0.8); (0.3, 0.4) norm 0.5 kept; (0,0) skipped.
        let g = vec![3., 4., 0.3, 0.4, 0., 0.];
        let mut out = vec![0.0f32; 2];
        be.clip_rows_and_sum(&g, 3, 2, 1.0, &mut out).unwrap();
        assert!((out[0] - 0.9).abs() < 1e-6 && (out[1] - 1.2).abs() < 1e-6);
        let mut norms = vec![0.0f32; 3];
        be.row_sq_norms(&g, 3, 2, &mut norms).unwrap();
        assert_eq!(norms[0], 25.0);
    }

    #[test]
    fn gather_and_scatter_round_trip() {
        let be = CpuBackend;
        let x: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 3 x 4
        let mut cols = vec![0.0f32; 6];
        be.gather_cols(&x, 3, 4, &[3, 1], &[1.0, 2.0], &mut cols)
            .unwrap();
        assert_eq!(cols, vec![3., 2., 7., 10., 11., 18.]);
        let mut rows = vec![0.0f32; 4];
        be.gather_rows(&x, 4, &[2], &[0.5], &mut rows).unwrap();
        assert_eq!(rows, vec![4., 4.5, 5., 5.5]);
        let mut dst = vec![0.0f32; 12];
        be.scatter_add_rows(&rows, 4, &[0], &mut dst).unwrap();
        assert_eq!(&dst[..4], &[4., 4.5, 5., 5.5]);
        assert!(be.gather_rows(&x, 4, &[3], &[1.0], &mut rows).is_err());
    }
}
