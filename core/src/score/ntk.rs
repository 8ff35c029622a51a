//! Neural tangent kernel of the first-layer-trained two-layer ReLU net and the closed-form kernel
//! gradient-descent predictor ("GD is a spectral filter").
//!
//! Paper: Han, Razaviyayn & Xu (2024, arXiv 2401.15604), spec 07 item 5; Arora et al. 2019.
//! `K(u, v) = (u . v) (pi - arccos(u.v / (|u||v|))) / (2 pi)` (= `E_w[(u.v) 1{w.u>0} 1{w.v>0}]`),
//! `K = 0` for a zero-norm input; the angle is computed as `2 atan2(|u^ - v^|, |u^ + v^|)` (stable). Kernel GD from `f_0 = 0` with Gram `K_n = K(U, U)/n = V diag(lam) V^T`:
//! `f_k(q) = (1/n) K(q, U) V diag((1 - (1 - eta lam)^k) / lam) V^T Y` (`eta k` when `lam = 0`).
//! Cost: kernel O(p); predictor O(n^3) eigendecomposition (nalgebra) plus O(n^2 + n q) per step count.

use crate::error::{check, Result};

/// The NTK `K(u, v)`.
pub fn ntk_kernel(u: &[f64], v: &[f64]) -> Result<f64> {
    check::same_len("ntk", u.len(), v.len())?;
    let uv: f64 = u.iter().zip(v).map(|(a, b)| a * b).sum();
    let nu = libm::sqrt(u.iter().map(|a| a * a).sum::<f64>());
    let nv = libm::sqrt(v.iter().map(|a| a * a).sum::<f64>());
    if nu == 0.0 || nv == 0.0 {
        return Ok(0.0);
    }
    // Angle by 2 atan2(|u^ - v^|, |u^ + v^|): accurate near 0 and pi, where acos(cos) loses half
    // the digits (numpy's arccos form is off by ~1e-8 on the diagonal).
    let (mut dm, mut dp) = (0.0, 0.0);
    for (&a, &b) in u.iter().zip(v) {
        let (x, y) = (a / nu, b / nv);
        dm += (x - y) * (x - y);
        dp += (x + y) * (x + y);
    }
    let theta = 2.0 * libm::atan2(libm::sqrt(dm), libm::sqrt(dp));
    Ok(uv * (core::f64::consts::PI - theta) / (2.0 * core::f64::consts::PI))
}

/// The closed-form kernel-GD predictor on a training set (single output).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct KernelGd {
    u: alloc::vec::Vec<f64>,
    p: usize,
    lam: alloc::vec::Vec<f64>,
    /// `V^T Y` (`[n]`).
    vty: alloc::vec::Vec<f64>,
    v: nalgebra::DMatrix<f64>,
}

#[cfg(feature = "alloc")]
impl KernelGd {
    /// Builds `K_n = K(U, U)/n` for `n` feature rows `u` (`[n, p]`) with labels `y` (`[n]`) and
    /// diagonalises it.
    pub fn new(u: &[f64], p: usize, y: &[f64]) -> Result<Self> {
        check::nonzero("p", p)?;
        let n = y.len();
        check::nonzero("n", n)?;
        check::same_len("kernel_gd U (n*p)", n * p, u.len())?;
        check::all_finite_f64("labels", y)?;
        let mut k = nalgebra::DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            for j in 0..=i {
                let v = ntk_kernel(&u[i * p..(i + 1) * p], &u[j * p..(j + 1) * p])? / n as f64;
                k[(i, j)] = v;
                k[(j, i)] = v;
            }
        }
        let eig = nalgebra::SymmetricEigen::new(k);
        let yv = nalgebra::DVector::from_column_slice(y);
        let vty = eig.eigenvectors.transpose() * yv;
        Ok(Self {
            u: u.into(),
            p,
            lam: eig.eigenvalues.iter().copied().collect(),
            vty: vty.iter().copied().collect(),
            v: eig.eigenvectors,
        })
    }

    /// Eigenvalues of `K_n`.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.lam
    }

    /// Dual coefficients `c_k = V diag(filter_k) V^T Y` after `k` steps of size `eta`; then
    /// `f_k(q) = (1/n) sum_j K(q, u_j) c_j`.
    pub fn coefficients(&self, eta: f64, k: u64) -> Result<alloc::vec::Vec<f64>> {
        check::positive("eta", eta)?;
        let filt: alloc::vec::Vec<f64> = self
            .lam
            .iter()
            .zip(&self.vty)
            .map(|(&l, &b)| {
                let g = if l.abs() < 1e-300 {
                    eta * k as f64
                } else {
                    (1.0 - libm::pow(1.0 - eta * l, k as f64)) / l
                };
                g * b
            })
            .collect();
        let f = nalgebra::DVector::from_vec(filt);
        Ok((&self.v * f).iter().copied().collect())
    }

    /// Prediction at query rows `q` (`[nq, p]`) for dual coefficients `c`, into `out` (`[nq]`).
    pub fn predict(&self, q: &[f64], c: &[f64], out: &mut [f64]) -> Result<()> {
        let n = self.vty.len();
        check::same_len("kernel_gd coefficients", n, c.len())?;
        if !q.len().is_multiple_of(self.p) {
            return Err(crate::error::Error::len_mismatch(
                "kernel_gd query",
                self.p,
                q.len(),
            ));
        }
        check::same_len("kernel_gd output", q.len() / self.p, out.len())?;
        for (o, qi) in out.iter_mut().zip(q.chunks_exact(self.p)) {
            let mut s = 0.0;
            for (uj, &cj) in self.u.chunks_exact(self.p).zip(c) {
                s += ntk_kernel(qi, uj)? * cj;
            }
            *o = s / n as f64;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn golden_case_5() {
        let u1 = [0.5, 0.5, 1.0];
        let u2 = [-0.25, 1.0, 1.0];
        assert!((ntk_kernel(&u1, &u2).unwrap() - 0.5401450473).abs() < 1e-9);
        assert!((ntk_kernel(&u1, &u1).unwrap() - 0.75).abs() < 1e-14);
        assert_eq!(ntk_kernel(&[0.0; 3], &u1).unwrap(), 0.0);
    }

    #[test]
    fn ntk_matches_monte_carlo() {
        // E_w[(u.v) 1{w.u>0} 1{w.v>0}] with 2e6 Gaussian w, tolerance 1e-3 (SE ~ 3e-4).
        let u1 = [0.5, 0.5, 1.0];
        let u2 = [-0.25, 1.0, 1.0];
        let uv: f64 = 0.5 * -0.25 + 0.5 + 1.0;
        let mut rng = crate::rng::default_rng(21);
        let n = 2_000_000;
        let mut hits = 0u64;
        for _ in 0..n {
            let w: [f64; 3] = core::array::from_fn(|_| crate::rng::seq::normal(&mut rng));
            let a: f64 = w.iter().zip(&u1).map(|(x, y)| x * y).sum();
            let b: f64 = w.iter().zip(&u2).map(|(x, y)| x * y).sum();
            if a > 0.0 && b > 0.0 {
                hits += 1;
            }
        }
        let mc = uv * hits as f64 / n as f64;
        assert!((mc - ntk_kernel(&u1, &u2).unwrap()).abs() < 1e-3, "{mc}");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn golden_case_6() {
        let u = [0.5, 0.5, 1.0, -0.25, 1.0, 1.0];
        let kg = KernelGd::new(&u, 3, &[1.0, -1.0]).unwrap();
        let mut l = kg.eigenvalues().to_vec();
        l.sort_by(f64::total_cmp);
        // numpy eigvalsh (the spec's 10-digit values are rounded from an 8-digit K_n).
        assert!((l[0] - 0.16623721322555).abs() < 1e-12 && (l[1] - 0.72438778677445).abs() < 1e-12);
        let q = [0.0, 0.5, 1.0];
        for &(k, want) in &[
            (1u64, -0.0607877362),
            (2, -0.0685861106),
            (10, -0.0252159918),
            (1000, -0.0095475322),
        ] {
            let c = kg.coefficients(1.0, k).unwrap();
            let mut o = [0.0];
            kg.predict(&q, &c, &mut o).unwrap();
            assert!((o[0] - want).abs() < 1e-9, "{k}: {}", o[0]);
        }
        for &(k, w0, w1) in &[
            (1u64, 0.10492748, -0.24555248),
            (2, 0.23682413, -0.39282999),
            (1000, 1.0, -1.0),
        ] {
            let c = kg.coefficients(1.0, k).unwrap();
            let mut o = [0.0; 2];
            kg.predict(&u, &c, &mut o).unwrap();
            assert!(
                (o[0] - w0).abs() < 1e-8 && (o[1] - w1).abs() < 1e-8,
                "{k}: {o:?}"
            );
        }
        // Direct iteration f <- f - eta K_n (f - Y) on the training set agrees.
        let kn: [[f64; 2]; 2] = [[0.375, 0.2700725236], [0.2700725236, 0.515625]];
        let mut f: [f64; 2] = [0.0, 0.0];
        for _ in 0..2 {
            let r = [f[0] - 1.0, f[1] + 1.0];
            f = [
                f[0] - (kn[0][0] * r[0] + kn[0][1] * r[1]),
                f[1] - (kn[1][0] * r[0] + kn[1][1] * r[1]),
            ];
        }
        assert!((f[0] - 0.23682413).abs() < 1e-8 && (f[1] + 0.39282999).abs() < 1e-8);
    }
}
