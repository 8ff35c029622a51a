//! The `Backend` trait: only the heavy paths. Everything else in noisekit is plain code written once
//! on top of it. Row-major `f32` throughout (training precision); buffers are owned by the backend.
//!
//! [`CpuBackend`] (behind `alloc`) is the reference implementation; `noisekit-cuda` implements the
//! same trait on the GPU. Methods that need temporaries document them; none allocates per call
//! except [`Backend::alloc`] and [`Backend::upload`].

#[cfg(feature = "alloc")]
mod cpu;
mod update_rule;

#[cfg(feature = "alloc")]
pub use cpu::{gemm_slices, gemm_slices_threads, gemm_threads, CpuBackend};
pub use update_rule::{apply_update, AdamWScalars, UpdateRule};

use crate::error::Result;
use crate::rng::NoiseKey;

/// Element types a backend buffer can hold.
pub trait Scalar: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync + 'static {}
impl Scalar for f32 {}
impl Scalar for f64 {}
impl Scalar for u32 {}

/// Whether an operand of [`Backend::gemm`] is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use its transpose.
    Yes,
}

/// Checks the buffers of `C = alpha op(A) op(B) + beta C` (row-major, `op(A)` `m x k`, `op(B)`
/// `k x n`) hold the shapes the call names; every backend's gemm starts with it.
#[allow(clippy::too_many_arguments)]
pub fn check_gemm(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
    a_len: usize,
    b_len: usize,
    c_len: usize,
) -> crate::Result<()> {
    let (a_rows, a_cols) = if ta == Transpose::No { (m, k) } else { (k, m) };
    let (b_rows, b_cols) = if tb == Transpose::No { (k, n) } else { (n, k) };
    crate::error::check::matrix("gemm A", a_len, a_rows, a_cols)?;
    crate::error::check::matrix("gemm B", b_len, b_rows, b_cols)?;
    crate::error::check::matrix("gemm C", c_len, m, n)
}

/// The heavy paths every backend provides.
pub trait Backend {
    /// A buffer of `T` owned by the backend (host memory for the CPU, device memory for CUDA).
    type Buf<T: Scalar>;

    /// Short name for messages (`"cpu"`, `"cuda"`).
    fn name(&self) -> &'static str;

    /// A zeroed buffer of `n` elements.
    fn alloc<T: Scalar>(&self, n: usize) -> Result<Self::Buf<T>>;

    /// Number of elements in `buf`.
    fn len<T: Scalar>(&self, buf: &Self::Buf<T>) -> usize;

    /// A new buffer holding a copy of `host`.
    fn upload<T: Scalar>(&self, host: &[T]) -> Result<Self::Buf<T>>;

    /// Overwrites `dst` with `host` (lengths must match).
    fn write<T: Scalar>(&self, host: &[T], dst: &mut Self::Buf<T>) -> Result<()>;

    /// Copies `src` into `host` (lengths must match).
    fn download<T: Scalar>(&self, src: &Self::Buf<T>, host: &mut [T]) -> Result<()>;

    /// `dst = src` (lengths must match).
    fn copy<T: Scalar>(&self, src: &Self::Buf<T>, dst: &mut Self::Buf<T>) -> Result<()>;

    /// `buf = 0`.
    fn zero<T: Scalar>(&self, buf: &mut Self::Buf<T>) -> Result<()>;

    /// `C = alpha op(A) op(B) + beta C` with `op(A)` m x k, `op(B)` k x n, `C` m x n, all row-major
    /// and dense (A stored m x k or k x m when transposed; likewise B).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        ta: Transpose,
        tb: Transpose,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &Self::Buf<f32>,
        b: &Self::Buf<f32>,
        beta: f32,
        c: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// `out[r] = sum_c x[r, c]^2` for a `rows x cols` matrix.
    fn row_sq_norms(
        &self,
        x: &Self::Buf<f32>,
        rows: usize,
        cols: usize,
        out: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// `x[r, :] *= factors[r]`.
    fn scale_rows(
        &self,
        x: &mut Self::Buf<f32>,
        rows: usize,
        cols: usize,
        factors: &Self::Buf<f32>,
    ) -> Result<()>;

    /// `out[c] = sum_r x[r, c]` (column sums of a `rows x cols` matrix).
    fn sum_rows(
        &self,
        x: &Self::Buf<f32>,
        rows: usize,
        cols: usize,
        out: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// DP-SGD's clip-and-sum in one pass: `out = sum_r g[r, :] * min(1, clip / ||g[r, :]||)`.
    /// Rows with a zero norm contribute zero.
    fn clip_rows_and_sum(
        &self,
        g: &Self::Buf<f32>,
        rows: usize,
        cols: usize,
        clip: f32,
        out: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// `x[i] = N(0, 1)` from the Philox stream `key` ([`crate::rng::bulk`] fixes the layout).
    fn fill_normal(&self, key: NoiseKey, x: &mut Self::Buf<f32>) -> Result<()>;

    /// `x[i] += sigma * N(0, 1)` from the Philox stream `key`.
    fn add_normal(&self, key: NoiseKey, sigma: f32, x: &mut Self::Buf<f32>) -> Result<()>;

    /// One fused pass of an update rule over parameters, gradients and state. When `noise` is
    /// `Some((key, sigma))`, `sigma * N(0,1)` from `key` is added to each gradient element inside
    /// the same pass (annealed gradient noise, DP noise), before the rule uses it.
    fn fused_update(
        &self,
        rule: &UpdateRule,
        params: &mut Self::Buf<f32>,
        grads: &Self::Buf<f32>,
        state: &mut [Self::Buf<f32>],
        noise: Option<(NoiseKey, f32)>,
    ) -> Result<()>;

    /// `out[r, j] = x[r, idx[j]] * scale[j]` for a `rows x cols` matrix `x`; `out` is
    /// `rows x idx.len()` (column sampling for CRS / WTA-CRS).
    fn gather_cols(
        &self,
        x: &Self::Buf<f32>,
        rows: usize,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// `out[j, :] = x[idx[j], :] * scale[j]`; `out` is `idx.len() x cols`.
    fn gather_rows(
        &self,
        x: &Self::Buf<f32>,
        cols: usize,
        idx: &[u32],
        scale: &[f32],
        out: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// `dst[idx[j], :] += src[j, :]`.
    fn scatter_add_rows(
        &self,
        src: &Self::Buf<f32>,
        cols: usize,
        idx: &[u32],
        dst: &mut Self::Buf<f32>,
    ) -> Result<()>;

    /// Waits until queued work is done (a no-op on the CPU).
    fn sync(&self) -> Result<()> {
        Ok(())
    }
}
