//! Small dense linear algebra on slices (BLAS-1 style helpers). Larger solves use nalgebra.

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
