//! Pivoted (rank-revealing) Cholesky factor of a small symmetric positive semi-definite matrix.
//!
//! The MA-fBM step covariance `S_ij = (1 - e^{-(g_i+g_j) dt}) / (g_i + g_j)` and the stationary
//! covariance `P0_ij = 1 / (g_i + g_j)` are Cauchy-like and numerically rank-deficient
//! (for `dt = 0.01` and the default grid, `eig(S) = [~0, ~0, 4.5e-10, 2.1e-5, 0.048]`), so plain
//! Cholesky (nalgebra, numpy) fails. nalgebra has no semi-definite/pivoted Cholesky, hence this one:
//! at step `k` pick the largest remaining diagonal `d_p`, stop when `d_p <= 1e-15 * max diag`,
//! otherwise `F[i, k] = (A[i, p] - sum_{j<k} F[i, j] F[p, j]) / sqrt(d_p)`.
//! Result: `F` (`n x r`, rows in the original order) with `F F' = A` up to the dropped trailing
//! pivots. Cost `O(n^2 r)`, fixed storage (no allocator): [`PsdFactorN<N>`] holds `N x N` values
//! (`8 N^2` bytes), so a caller that knows its size (firmware with `K = 5`) keeps it on a small
//! stack; [`PsdFactor`] is the `N = 32` default.

use super::weights::MAX_K;
use crate::error::{check, Error, Result};

/// [`PsdFactorN`] for any `n <= 32`.
pub type PsdFactor = PsdFactorN<MAX_K>;

/// `F` with `F F' ~= A` for an `n x n` PSD matrix, `n <= N`.
#[derive(Debug, Clone)]
pub struct PsdFactorN<const N: usize> {
    /// Rows `0..n`; columns `0..rank` are used.
    f: [[f64; N]; N],
    n: usize,
    rank: usize,
}

impl<const N: usize> PsdFactorN<N> {
    /// Factors the row-major `n x n` symmetric matrix `a` (`n` in `1..=N`).
    /// Errors: `a.len() != n^2` or `n` outside `1..=N` -> `ShapeMismatch`/`InvalidParam`; non-finite entry ->
    /// `NonFinite`; a clearly negative pivot (< -1e-8 of the largest diagonal) -> `Numerical`.
    pub fn new(a: &[f64], n: usize) -> Result<Self> {
        if n == 0 || n > N {
            return Err(Error::invalid(
                "matrix size",
                n as f64,
                "in 1..=N (the factor's capacity; 32 for PsdFactor)",
            ));
        }
        check::same_len("PsdFactor (a)", n * n, a.len())?;
        check::all_finite_f64("PSD matrix", a)?;
        let mut f = [[0.0; N]; N];
        let mut d = [0.0; N];
        let mut used = [false; N];
        let mut dmax: f64 = 0.0;
        for i in 0..n {
            d[i] = a[i * n + i];
            dmax = dmax.max(d[i]);
        }
        if d[..n]
            .iter()
            .any(|&x| x < -1e-8 * dmax.max(f64::MIN_POSITIVE))
        {
            return Err(Error::Numerical("matrix is not positive semi-definite"));
        }
        let tol = 1e-15 * dmax;
        let mut rank = 0;
        for k in 0..n {
            let mut p = usize::MAX;
            let mut best = f64::NEG_INFINITY;
            for i in 0..n {
                if !used[i] && d[i] > best {
                    best = d[i];
                    p = i;
                }
            }
            if p == usize::MAX || best <= tol {
                break;
            }
            let piv = libm::sqrt(best);
            used[p] = true;
            f[p][k] = piv;
            for i in 0..n {
                if used[i] {
                    continue;
                }
                let s = f[i][..k]
                    .iter()
                    .zip(&f[p][..k])
                    .fold(a[i * n + p], |s, (x, y)| s - x * y);
                let v = s / piv;
                f[i][k] = v;
                d[i] -= v * v;
            }
            rank = k + 1;
        }
        Ok(Self { f, n, rank })
    }

    /// Matrix size `n`.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Numerical rank `r` (number of normals [`PsdFactor::apply`] reads).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Entry `F[i, j]` (0 outside the factor).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        if i < self.n && j < self.rank {
            self.f[i][j]
        } else {
            0.0
        }
    }

    /// `out = F z` (`z` of length `rank`, `out` of length `n`).
    pub fn apply(&self, z: &[f64], out: &mut [f64]) -> Result<()> {
        check::same_len("PsdFactor::apply (z)", self.rank, z.len())?;
        check::same_len("PsdFactor::apply (out)", self.n, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            let row = &self.f[i][..self.rank];
            *o = row.iter().zip(z).map(|(a, b)| a * b).sum();
        }
        Ok(())
    }

    /// `sum_ij (F F')_ij - A_ij` squared, for tests: reconstruction error in Frobenius norm.
    pub fn reconstruction_error(&self, a: &[f64]) -> Result<f64> {
        check::same_len("PsdFactor (a)", self.n * self.n, a.len())?;
        let mut e = 0.0;
        for i in 0..self.n {
            for j in 0..self.n {
                let mut s = 0.0;
                for k in 0..self.rank {
                    s += self.get(i, k) * self.get(j, k);
                }
                e += (s - a[i * self.n + j]) * (s - a[i * self.n + j]);
            }
        }
        Ok(libm::sqrt(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_rank_deficient_cauchy_matrix() {
        let g = [0.05, 0.22360679775, 1.0, 4.472135955, 20.0];
        let dt = 0.01;
        let mut s = [0.0; 25];
        for i in 0..5 {
            for j in 0..5 {
                let q = g[i] + g[j];
                s[i * 5 + j] = -libm::expm1(-q * dt) / q;
            }
        }
        let f = PsdFactor::new(&s, 5).unwrap();
        assert!(f.rank() >= 2 && f.rank() <= 5);
        assert!(
            f.reconstruction_error(&s).unwrap() < 1e-14,
            "{}",
            f.reconstruction_error(&s).unwrap()
        );
        // Exact rank-1 matrix.
        let v = [1.0, 2.0, 3.0];
        let mut a = [0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                a[i * 3 + j] = v[i] * v[j];
            }
        }
        let f = PsdFactor::new(&a, 3).unwrap();
        assert_eq!(f.rank(), 1);
        let mut out = [0.0; 3];
        f.apply(&[1.0], &mut out).unwrap();
        for (o, w) in out.iter().zip(v) {
            assert!((o.abs() - w).abs() < 1e-14);
        }
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            PsdFactor::new(&[1.0; 3], 2),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            PsdFactor::new(&[], 0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            PsdFactor::new(&[-1.0], 1),
            Err(Error::Numerical(_))
        ));
        assert!(matches!(
            PsdFactor::new(&[f64::NAN], 1),
            Err(Error::NonFinite { .. })
        ));
    }
}
