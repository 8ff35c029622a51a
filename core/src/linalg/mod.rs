//! Small dense linear algebra on slices: BLAS-1 helpers and in-place solves of small systems
//! (no allocator). Larger solves use nalgebra.

/// `sum_i x_i y_i` in `f64`.
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// `sum_i x_i y_i` for `f32` slices, accumulated in `f32`.
pub fn dot_f32(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Euclidean norm.
pub fn norm(x: &[f64]) -> f64 {
    libm::sqrt(dot(x, x))
}

/// Euclidean norm of an `f32` slice (accumulated in `f64` for accuracy).
pub fn norm_f32(x: &[f32]) -> f32 {
    libm::sqrt(x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>()) as f32
}

/// `y += a x`.
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}

/// `y += a x` for `f32`.
pub fn axpy_f32(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blas1_by_hand() {
        assert_eq!(dot(&[1., 2., 3.], &[4., 5., 6.]), 32.0);
        assert_eq!(norm(&[3., 4.]), 5.0);
        assert_eq!(norm_f32(&[3., 4.]), 5.0);
        let mut y = [1.0, 1.0];
        axpy(2.0, &[1.0, 2.0], &mut y);
        assert_eq!(y, [3.0, 5.0]);
    }
}

/// Solves `A x = b` for a symmetric positive-definite row-major `n x n` matrix by Cholesky,
/// in place: `a` is overwritten by its factor and `b` by `x`. Returns `false` (leaving `a`, `b`
/// clobbered) when a pivot is not positive, i.e. `A` is not numerically positive definite.
/// Cost `n^3 / 6` multiply-adds; no allocation and no stack beyond a few scalars.
pub fn cholesky_solve_in_place(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    if a.len() < n * n || b.len() < n {
        return false;
    }
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = libm::sqrt(d);
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// Solves `A x = b` for a row-major `n x n` matrix by Gaussian elimination with partial
/// pivoting, in place (`a` clobbered, `b` overwritten by `x`). Returns `false` when a pivot is
/// zero or not finite (singular `A`). Cost `n^3 / 3`; no allocation.
pub fn lu_solve_in_place(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    if a.len() < n * n || b.len() < n {
        return false;
    }
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))
            .unwrap_or(c);
        let piv = a[p * n + c];
        if piv == 0.0 || !piv.is_finite() {
            return false;
        }
        if p != c {
            for k in 0..n {
                a.swap(p * n + k, c * n + k);
            }
            b.swap(p, c);
        }
        for i in c + 1..n {
            let f = a[i * n + c] / piv;
            for k in c..n {
                a[i * n + k] -= f * a[c * n + k];
            }
            b[i] -= f * b[c];
        }
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

#[cfg(test)]
mod solve_tests {
    use super::*;

    // A = [[4, 2, 0.4], [2, 5, 1], [0.4, 1, 3]], x = [1, -2, 0.5]; b = A x computed by hand.
    const A: [f64; 9] = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
    const X: [f64; 3] = [1.0, -2.0, 0.5];
    const B: [f64; 3] = [0.2, -7.5, -0.1];

    #[test]
    fn cholesky_and_lu_solve_a_known_system() {
        let (mut a, mut b) = (A, B);
        assert!(cholesky_solve_in_place(&mut a, &mut b, 3));
        for (x, want) in b.iter().zip(X) {
            assert!((x - want).abs() < 1e-14, "{x} vs {want}");
        }
        let (mut a, mut b) = (A, B);
        assert!(lu_solve_in_place(&mut a, &mut b, 3));
        for (x, want) in b.iter().zip(X) {
            assert!((x - want).abs() < 1e-14, "{x} vs {want}");
        }
    }

    #[test]
    fn indefinite_and_singular_matrices_are_reported() {
        // Indefinite but invertible: Cholesky refuses, LU (with a pivot swap) solves it.
        let mut a = [0.0, 1.0, 1.0, 0.0];
        let mut b = [2.0, 3.0];
        assert!(!cholesky_solve_in_place(&mut a, &mut b, 2));
        let (mut a, mut b) = ([0.0, 1.0, 1.0, 0.0], [2.0, 3.0]);
        assert!(lu_solve_in_place(&mut a, &mut b, 2));
        assert_eq!(b, [3.0, 2.0]);
        let (mut a, mut b) = ([1.0, 2.0, 2.0, 4.0], [1.0, 1.0]);
        assert!(!lu_solve_in_place(&mut a, &mut b, 2));
        // Short buffers are refused, not indexed out of bounds.
        assert!(!cholesky_solve_in_place(&mut [1.0], &mut [1.0], 2));
        assert!(!lu_solve_in_place(&mut [1.0], &mut [1.0], 2));
    }
}
