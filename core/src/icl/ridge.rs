//! Ridge regression, min-norm least squares (OLS) and the Bayes-optimal ridge penalty as
//! in-context predictors.
//!
//! Akyürek et al. 2022, "What learning algorithm is in-context learning? Investigations with
//! linear models" (arXiv 2211.15661); conventions of scikit-learn `Ridge(alpha,
//! fit_intercept=False)` / `LinearRegression(fit_intercept=False)`.
//!
//! Ridge minimises `||y - X w||^2 + lambda ||w||^2` (a sum, no `1/n`):
//! `w = (X^T X + lambda I)^{-1} X^T y = X^T (X X^T + lambda I)^{-1} y`; the smaller of the two
//! systems (`min(n, d)`) is solved by Cholesky. OLS is the min-norm solution `w = pinv(X) y`
//! (SVD, cutoff `rcond = max(n, d) eps s_max` as numpy). Under `w ~ N(0, tau^2 I)` and noise
//! `sigma^2` the posterior mean is ridge with `lambda = sigma^2 / tau^2`. Online form
//! (Sherman–Morrison, what the transformer construction emulates): `A_0 = I/lambda`,
//! `u = A x_i`, `A <- A - u u^T / (1 + x_i^T u)`, `b <- b + y_i x_i`, `w_i = A b`.
//! Costs: ridge `O(n d min(n, d) + min(n, d)^3)`, OLS `O(n d min(n, d))` (SVD),
//! Sherman–Morrison `O(d^2)` per example.

use crate::error::{check, Error, Result};
use crate::icl::chol::{cholesky_in_place, cholesky_solve_in_place};

/// The Bayes-optimal ridge penalty `lambda = sigma2 / tau2` (sklearn's convention, loss not divided
/// by `n`).
pub fn bayes_lambda(sigma2: f64, tau2: f64) -> Result<f64> {
    check::non_negative("sigma2", sigma2)?;
    check::positive("tau2", tau2)?;
    Ok(sigma2 / tau2)
}

/// Scratch length [`ridge_weights`] needs: `m^2 + m` with `m = min(n, d)`.
pub const fn ridge_scratch_len(n: usize, d: usize) -> usize {
    let m = if n < d { n } else { d };
    m * m + m
}

/// Ridge weights into `w` (length `d`); `ws` is scratch of [`ridge_scratch_len`]. No allocation.
///
/// `lambda = 0` solves the normal equations of the smaller Gram matrix, which is the min-norm OLS
/// solution when `X` has full rank; a rank-deficient `X` then gives `Error::Numerical` (use
/// [`ols_weights`], SVD-based, instead). Errors: `n = 0`, `d = 0`, `lambda < 0` -> `InvalidParam`.
pub fn ridge_weights(
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    lambda: f64,
    ws: &mut [f64],
    w: &mut [f64],
) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::non_negative("lambda", lambda)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("w", d, w.len())?;
    check::same_len("scratch", ridge_scratch_len(n, d), ws.len())?;
    let m = n.min(d);
    let (a, rhs) = ws.split_at_mut(m * m);
    if n >= d {
        // Primal: (X^T X + lambda I) w = X^T y.
        for i in 0..d {
            for j in 0..=i {
                let s: f64 = x.chunks_exact(d).map(|r| r[i] * r[j]).sum();
                a[i * d + j] = s + if i == j { lambda } else { 0.0 };
            }
        }
        rhs.fill(0.0);
        for (r, &yi) in x.chunks_exact(d).zip(y) {
            crate::linalg::axpy(yi, r, rhs);
        }
        cholesky_in_place(a, d, "gram")
            .map_err(|_| Error::Numerical("ridge: X^T X + lambda I is singular"))?;
        cholesky_solve_in_place(a, d, rhs);
        w.copy_from_slice(rhs);
    } else {
        // Dual: w = X^T (X X^T + lambda I)^{-1} y.
        for i in 0..n {
            for j in 0..=i {
                let s = crate::linalg::dot(&x[i * d..(i + 1) * d], &x[j * d..(j + 1) * d]);
                a[i * n + j] = s + if i == j { lambda } else { 0.0 };
            }
        }
        rhs.copy_from_slice(y);
        cholesky_in_place(a, n, "gram")
            .map_err(|_| Error::Numerical("ridge: X X^T + lambda I is singular"))?;
        cholesky_solve_in_place(a, n, rhs);
        w.fill(0.0);
        for (r, &ai) in x.chunks_exact(d).zip(rhs.iter()) {
            crate::linalg::axpy(ai, r, w);
        }
    }
    check::all_finite_f64("ridge weights", w)
}

/// Min-norm least squares `w = pinv(X) y` by SVD (numpy's cutoff), into `w` (length `d`).
#[cfg(feature = "alloc")]
pub fn ols_weights(x: &[f64], y: &[f64], n: usize, d: usize, w: &mut [f64]) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("w", d, w.len())?;
    check::all_finite_f64("x", x)?;
    check::all_finite_f64("y", y)?;
    let xm = nalgebra::DMatrix::from_row_slice(n, d, x);
    let svd = nalgebra::linalg::SVD::new(xm, true, true);
    let smax = svd.singular_values.iter().cloned().fold(0.0, f64::max);
    let cutoff = (n.max(d) as f64) * f64::EPSILON * smax;
    let yv = nalgebra::DVector::from_column_slice(y);
    let sol = svd
        .solve(&yv, cutoff)
        .map_err(|_| Error::Numerical("ols: SVD failed"))?;
    w.copy_from_slice(sol.as_slice());
    check::all_finite_f64("ols weights", w)
}

/// Ridge through Sherman–Morrison rank-one updates: every prefix solution in `O(d^2)` per example.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct RidgeOnline {
    d: usize,
    a: alloc::vec::Vec<f64>,
    b: alloc::vec::Vec<f64>,
    u: alloc::vec::Vec<f64>,
}

#[cfg(feature = "alloc")]
impl RidgeOnline {
    /// Empty fit (`A = I / lambda`, `b = 0`); `lambda > 0`, `d >= 1`.
    pub fn new(d: usize, lambda: f64) -> Result<Self> {
        check::nonzero("d", d)?;
        check::positive("lambda", lambda)?;
        let mut a = alloc::vec![0.0; d * d];
        (0..d).for_each(|i| a[i * d + i] = 1.0 / lambda);
        Ok(Self {
            d,
            a,
            b: alloc::vec![0.0; d],
            u: alloc::vec![0.0; d],
        })
    }

    /// Adds one example `(x, y)`.
    pub fn push(&mut self, x: &[f64], y: f64) -> Result<()> {
        let d = self.d;
        check::same_len("x", d, x.len())?;
        for (i, ui) in self.u.iter_mut().enumerate() {
            *ui = crate::linalg::dot(&self.a[i * d..(i + 1) * d], x);
        }
        let den = 1.0 + crate::linalg::dot(x, &self.u);
        for i in 0..d {
            for j in 0..d {
                self.a[i * d + j] -= self.u[i] * self.u[j] / den;
            }
        }
        crate::linalg::axpy(y, x, &mut self.b);
        Ok(())
    }

    /// The current weights `w = A b` into `w` (length `d`).
    pub fn weights(&self, w: &mut [f64]) -> Result<()> {
        let d = self.d;
        check::same_len("w", d, w.len())?;
        for (i, wi) in w.iter_mut().enumerate() {
            *wi = crate::linalg::dot(&self.a[i * d..(i + 1) * d], &self.b);
        }
        Ok(())
    }

    /// The current `A = (X^T X + lambda I)^{-1}`, row-major.
    pub fn inverse(&self) -> &[f64] {
        &self.a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    const Y: [f64; 3] = [1.0, 2.0, 2.0];
    const XQ: [f64; 2] = [1.0, 2.0];

    fn ridge(x: &[f64], y: &[f64], n: usize, d: usize, lam: f64) -> [f64; 2] {
        let mut ws = [0.0; 16];
        let mut w = [0.0; 2];
        ridge_weights(
            x,
            y,
            n,
            d,
            lam,
            &mut ws[..ridge_scratch_len(n, d)],
            &mut w[..d],
        )
        .unwrap();
        w
    }

    #[test]
    fn ridge_oracles() {
        let w = ridge(&X, &Y, 3, 2, 1.0);
        assert!((w[0] - 0.625).abs() < 1e-14 && (w[1] - 1.125).abs() < 1e-14);
        assert!((crate::linalg::dot(&w, &XQ) - 2.875).abs() < 1e-14);
        let w = ridge(&X, &Y, 3, 2, 0.5);
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-14 && (w[1] - 4.0 / 3.0).abs() < 1e-14);
        assert!((crate::linalg::dot(&w, &XQ) - 10.0 / 3.0).abs() < 1e-13);
        let w = ridge(&X, &Y, 3, 2, 0.0);
        assert!((crate::linalg::dot(&w, &XQ) - 4.0).abs() < 1e-13);
        // Min-norm for n < d: X = [[1, 2]], y = [5] -> w = [1, 2].
        let w = ridge(&[1.0, 2.0], &[5.0], 1, 2, 0.0);
        assert!((w[0] - 1.0).abs() < 1e-14 && (w[1] - 2.0).abs() < 1e-14);
        // Primal and dual agree: the n < d case with lambda > 0 by hand, (X X^T + 1) = 6 -> a = 5/6.
        let w = ridge(&[1.0, 2.0], &[5.0], 1, 2, 1.0);
        assert!((w[0] - 5.0 / 6.0).abs() < 1e-14 && (w[1] - 10.0 / 6.0).abs() < 1e-14);
    }

    #[test]
    fn bayes_lambda_oracles() {
        assert_eq!(bayes_lambda(0.25, 1.0).unwrap(), 0.25);
        assert_eq!(bayes_lambda(1.0, 1.0).unwrap(), 1.0);
        assert_eq!(bayes_lambda(1.0, 4.0).unwrap(), 0.25);
        assert!(matches!(
            bayes_lambda(1.0, 0.0),
            Err(Error::InvalidParam { name: "tau2", .. })
        ));
    }

    #[test]
    fn bad_input_is_typed() {
        let (mut ws, mut w) = ([0.0; 6], [0.0; 2]);
        assert!(matches!(
            ridge_weights(&X, &Y, 3, 2, -1.0, &mut ws, &mut w),
            Err(Error::InvalidParam { name: "lambda", .. })
        ));
        assert!(matches!(
            ridge_weights(&[], &[], 0, 2, 1.0, &mut ws[..0], &mut w),
            Err(Error::InvalidParam { name: "n", .. })
        ));
        // Rank-deficient X with lambda = 0 on the Cholesky path.
        assert!(matches!(
            ridge_weights(
                &[1.0, 1.0, 2.0, 2.0],
                &[1.0, 2.0],
                2,
                2,
                0.0,
                &mut ws,
                &mut w
            ),
            Err(Error::Numerical(_))
        ));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn ols_and_sherman_morrison() {
        let mut w = [0.0; 2];
        ols_weights(&X, &Y, 3, 2, &mut w).unwrap();
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-14 && (w[1] - 5.0 / 3.0).abs() < 1e-14);
        ols_weights(&[1.0, 2.0], &[5.0], 1, 2, &mut w).unwrap();
        assert!((w[0] - 1.0).abs() < 1e-14 && (w[1] - 2.0).abs() < 1e-14);
        // Rank-deficient: pinv gives the min-norm solution: X = [[1,1],[2,2]], y = [1,2] -> [0.5, 0.5].
        ols_weights(&[1.0, 1.0, 2.0, 2.0], &[1.0, 2.0], 2, 2, &mut w).unwrap();
        assert!((w[0] - 0.5).abs() < 1e-14 && (w[1] - 0.5).abs() < 1e-14);
        let mut sm = RidgeOnline::new(2, 1.0).unwrap();
        let prefixes = [[0.5, 0.0], [0.5, 1.0], [0.625, 1.125]];
        for (i, want) in prefixes.iter().enumerate() {
            sm.push(&X[2 * i..2 * i + 2], Y[i]).unwrap();
            sm.weights(&mut w).unwrap();
            let direct = ridge(&X[..2 * (i + 1)], &Y[..i + 1], i + 1, 2, 1.0);
            for k in 0..2 {
                assert!((w[k] - want[k]).abs() < 1e-12 && (w[k] - direct[k]).abs() < 1e-10);
            }
        }
        for (a, b) in sm.inverse().iter().zip([0.375, -0.125, -0.125, 0.375]) {
            assert!((a - b).abs() < 1e-14);
        }
        assert!(RidgeOnline::new(2, 0.0).is_err());
    }
}
