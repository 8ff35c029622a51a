//! `CpuBackend`: the reference backend on host memory (`Vec<T>` buffers). gemm uses the
//! `matrixmultiply` crate (the packed micro-kernel gemm nalgebra uses, AVX2/FMA detected at run time
//! under `std`); the rest are straight loops over slices, each a single pass.

use alloc::vec;
use alloc::vec::Vec;

#[cfg(not(feature = "std"))]
use super::apply_update;
use super::{Backend, Scalar, Transpose, UpdateRule};
use crate::error::{check, Error, Result};
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

fn check_matrix(op: &'static str, buf_len: usize, rows: usize, cols: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(n) if n == buf_len => Ok(()),
        _ => Err(Error::ShapeMismatch {
            op,
            expected: (rows, cols),
            got: (buf_len, 1),
        }),
    }
}

fn check_indices(op: &'static str, idx: &[u32], bound: usize) -> Result<()> {
    match idx.iter().position(|&i| i as usize >= bound) {
        None => Ok(()),
        Some(j) => Err(Error::invalid(
            op,
            idx[j] as f64,
            "indices below the dimension size",
        )),
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

/// Row-major `C = alpha op(A) op(B) + beta C` on slices (the CPU gemm behind [`CpuBackend::gemm`]).
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
    let (a_rows, a_cols) = if ta == Transpose::No { (m, k) } else { (k, m) };
    let (b_rows, b_cols) = if tb == Transpose::No { (k, n) } else { (n, k) };
    check_matrix("gemm A", a.len(), a_rows, a_cols)?;
    check_matrix("gemm B", b.len(), b_rows, b_cols)?;
    check_matrix("gemm C", c.len(), m, n)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        c.iter_mut().for_each(|v| *v *= beta);
        return Ok(());
    }
    // Strides of op(A) (m x k) and op(B) (k x n) over row-major storage.
    let (rsa, csa) = if ta == Transpose::No {
        (k as isize, 1)
    } else {
        (1, m as isize)
    };
    let (rsb, csb) = if tb == Transpose::No {
        (n as isize, 1)
    } else {
        (1, k as isize)
    };
    // SAFETY: the shape checks above guarantee every index the kernel reads or writes is in bounds.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
