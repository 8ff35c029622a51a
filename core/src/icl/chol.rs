//! Cholesky factorisation and solves on caller-provided row-major slices (no allocation).
//!
//! Used for the covariance factors of the task sampler (`x = L z` with `Sigma = L L^T`), the
//! ridge normal equations and the closed-form optimal preconditioner. nalgebra's `Cholesky` needs
//! an owned (allocated) matrix for run-time sizes, so the no-alloc path keeps this small
//! Cholesky–Banachiewicz loop. Formula: `L_jj = sqrt(A_jj - sum_{k<j} L_jk^2)`,
//! `L_ij = (A_ij - sum_{k<j} L_ik L_jk) / L_jj` for `i > j`. Cost: `d^3 / 3` multiply-adds for the
//! factorisation, `d^2` per solve.

use crate::error::{Error, Result};

/// Factorises the symmetric `d x d` matrix `a` (row-major, only the lower triangle is read) into
/// its lower Cholesky factor, in place; the strict upper triangle is set to 0.
///
/// Errors: `a.len() != d * d` -> [`Error::ShapeMismatch`]; a pivot `<= 0` or non-finite (the matrix
/// is not symmetric positive definite) -> [`Error::InvalidParam`] named `what`.
pub fn cholesky_in_place(a: &mut [f64], d: usize, what: &'static str) -> Result<()> {
    if a.len() != d * d {
        return Err(Error::ShapeMismatch {
            op: "cholesky",
            expected: (d, d),
            got: (a.len(), 1),
        });
    }
    for j in 0..d {
        let mut s = a[j * d + j];
        for k in 0..j {
            s -= a[j * d + k] * a[j * d + k];
        }
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::invalid(
                what,
                s,
                "a symmetric positive-definite matrix",
            ));
        }
        let ljj = libm::sqrt(s);
        a[j * d + j] = ljj;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = s / ljj;
        }
        for k in j + 1..d {
            a[j * d + k] = 0.0;
        }
    }
    Ok(())
}

/// Solves `L L^T x = b` in place (`b` becomes `x`) for the lower factor `l` from
/// [`cholesky_in_place`]. Lengths are the caller's contract (`l` is `d x d`, `b` has `d`).
pub fn cholesky_solve_in_place(l: &[f64], d: usize, b: &mut [f64]) {
    lower_solve_in_place(l, d, b);
    lower_transpose_solve_in_place(l, d, b);
}

/// Solves `L x = b` in place (forward substitution).
pub fn lower_solve_in_place(l: &[f64], d: usize, b: &mut [f64]) {
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * b[k];
        }
        b[i] = s / l[i * d + i];
    }
}

/// Solves `L^T x = b` in place (back substitution).
pub fn lower_transpose_solve_in_place(l: &[f64], d: usize, b: &mut [f64]) {
    for i in (0..d).rev() {
        let mut s = b[i];
        for k in i + 1..d {
            s -= l[k * d + i] * b[k];
        }
        b[i] = s / l[i * d + i];
    }
}

/// `out = L z` for a lower-triangular `d x d` factor.
pub fn lower_mul(l: &[f64], d: usize, z: &[f64], out: &mut [f64]) {
    for i in 0..d {
        let mut s = 0.0;
        for k in 0..=i {
            s += l[i * d + k] * z[k];
        }
        out[i] = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_and_solve_by_hand() {
        // A = [[4, 2], [2, 3]] -> L = [[2, 0], [1, sqrt 2]]; A x = [2, 1] -> x = [0.5, 0].
        let mut a = [4.0, 2.0, 2.0, 3.0];
        cholesky_in_place(&mut a, 2, "a").unwrap();
        assert_eq!(a[0], 2.0);
        assert_eq!(a[1], 0.0);
        assert_eq!(a[2], 1.0);
        assert!((a[3] - 2f64.sqrt()).abs() < 1e-15);
        let mut b = [2.0, 1.0];
        cholesky_solve_in_place(&a, 2, &mut b);
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15);
        let mut z = [0.0; 2];
        lower_mul(&a, 2, &[1.0, 1.0], &mut z);
        assert!((z[0] - 2.0).abs() < 1e-15 && (z[1] - 1.0 - 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn not_spd_and_bad_shape_are_typed() {
        let mut a = [1.0, 2.0, 2.0, 1.0];
        assert!(matches!(
            cholesky_in_place(&mut a, 2, "x_cov"),
            Err(Error::InvalidParam { name: "x_cov", .. })
        ));
        let mut b = [1.0; 3];
        assert!(matches!(
            cholesky_in_place(&mut b, 2, "x_cov"),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
