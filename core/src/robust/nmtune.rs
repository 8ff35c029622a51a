//! NMTune: the three feature regularisers (consistency, covariance, dominant singular values) with
//! their gradients, and the residual-MLP "affine" transform of frozen features.
//!
//! Paper: H. Chen, J. Wang, A. Shah, R. Tao, H. Wei, X. Xie, M. Sugiyama, B. Raj, "Understanding and
//! Mitigating the Label Noise in Pre-training on Downstream Tasks", ICLR 2024, arXiv 2309.17002
//! (official code `src/models/nml_tune.py`, `modeling.py::ImageEncoderMLP`; spec 15 sections 2-3).
//!
//! For transformed features `Z` (n x D), original features `F` (n x D), single view (weak = strong):
//! ```text
//! L_MSE = mean_{n D} (normalize(z_i) - normalize(f_i))^2,  normalize(v) = v / max(||v||, 1e-12)
//!         dL/dz_i = (e_i - zhat_i <zhat_i, e_i>) / ||z_i||,  e_i = 2 (zhat_i - fhat_i) / (n D)
//! L_COV = (1/D) sum_{i != j} C_ij^2,  C = Zc^T Zc / (n - 1),  Zc = Z - column means
//!         dL/dZ = 4 Zc C_off / (D (n - 1))
//! L_SVD = -(1/k') sum_{i <= k'} s_i / S,  S = sum_j s_j,  k' = min(k, q)   (uncentred Z, q = min(n, D))
//!         dL/dZ = U diag(g) V^T,  g_i = -(1/k') (1[i <= k'] / S - sum_{j <= k'} s_j / S^2)
//! L     = L_CE + w_mse L_MSE + w_cov L_COV + w_svd L_SVD   (defaults 1.0, 0.04, 0.001, k = 5)
//! transform: h = ReLU(f W1^T + b1), g = h W2^T + b2, z = s * g + f   (no BatchNorm: the option
//!            the spec's synthetic reproduction uses)
//! ```
//! Cost: L_SVD needs a thin SVD of Z (O(n D min(n, D))); L_COV a D x D Gram (2 n D^2); L_MSE O(n D).
//! Feature `alloc`. Single view: the code concatenates a weak and a strong view (2n rows); with
//! identical views the SVD shares are the same and the covariance differs only by (2n-1)/(n-1)
//! in the normaliser, which this single-view form does not reproduce.

use alloc::vec;
use alloc::vec::Vec;

use nalgebra::DMatrix;

use crate::error::{check, Error, Result};

/// Weights of the three regularisers and the number of singular values promoted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NmtuneWeights {
    /// Consistency (MSE) weight (default 1.0).
    pub mse: f64,
    /// Covariance weight (default 0.04).
    pub cov: f64,
    /// Singular-value weight (default 0.001).
    pub svd: f64,
    /// Number of top singular values in `L_SVD` (default 5).
    pub k: usize,
}

impl Default for NmtuneWeights {
    fn default() -> Self {
        Self {
            mse: 1.0,
            cov: 0.04,
            svd: 0.001,
            k: 5,
        }
    }
}

impl NmtuneWeights {
    /// All weights finite and >= 0, `k >= 1`.
    pub fn validate(&self) -> Result<()> {
        check::non_negative("w_mse", self.mse)?;
        check::non_negative("w_cov", self.cov)?;
        check::non_negative("w_svd", self.svd)?;
        check::nonzero("k", self.k)
    }
}

/// The values of the regularisers (unweighted) and their weighted sum.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NmtuneRegs {
    /// `L_MSE`.
    pub mse: f64,
    /// `L_COV`.
    pub cov: f64,
    /// `L_SVD`.
    pub svd: f64,
    /// `w_mse L_MSE + w_cov L_COV + w_svd L_SVD` (skipped terms count 0).
    pub total: f64,
}

fn check_matrix(name: &'static str, z: &[f64], n: usize, d: usize) -> Result<()> {
    check::nonzero("rows", n)?;
    check::nonzero("features", d)?;
    check::same_len(name, n * d, z.len())?;
    check::all_finite_f64(name, z)
}

/// The off-diagonal entries of a row-major `d x d` matrix, row by row.
pub fn off_diagonal(m: &[f64], d: usize) -> Result<Vec<f64>> {
    check::same_len("off_diagonal (d * d)", d * d, m.len())?;
    Ok((0..d * d)
        .filter(|i| i / d != i % d)
        .map(|i| m[i])
        .collect())
}

/// `L_MSE` and, when `grad` is given (`n x D`), `grad += w * dL/dZ`.
pub fn mse_consistency(
    z: &[f64],
    f: &[f64],
    n: usize,
    d: usize,
    w: f64,
    grad: Option<&mut [f64]>,
) -> Result<f64> {
    check_matrix("features Z", z, n, d)?;
    check_matrix("features F", f, n, d)?;
    let scale = 1.0 / (n * d) as f64;
    let mut total = 0.0;
    let mut grad = grad;
    if let Some(g) = grad.as_deref() {
        check::same_len("grad (n * D)", n * d, g.len())?;
    }
    for i in 0..n {
        let zi = &z[i * d..(i + 1) * d];
        let fi = &f[i * d..(i + 1) * d];
        let zn = libm::sqrt(zi.iter().map(|v| v * v).sum::<f64>()).max(1e-12);
        let fnorm = libm::sqrt(fi.iter().map(|v| v * v).sum::<f64>()).max(1e-12);
        let mut ez = 0.0;
        for j in 0..d {
            let r = zi[j] / zn - fi[j] / fnorm;
            total += r * r;
            ez += (zi[j] / zn) * 2.0 * r * scale;
        }
        if let Some(g) = grad.as_deref_mut() {
            for j in 0..d {
                let zh = zi[j] / zn;
                let e = 2.0 * (zh - fi[j] / fnorm) * scale;
                g[i * d + j] += w * (e - zh * ez) / zn;
            }
        }
    }
    Ok(total * scale)
}

/// `L_COV` and, when `grad` is given, `grad += w * dL/dZ`. Needs `n >= 2` rows.
pub fn covariance(z: &[f64], n: usize, d: usize, w: f64, grad: Option<&mut [f64]>) -> Result<f64> {
    check_matrix("features Z", z, n, d)?;
    if n < 2 {
        return Err(Error::invalid(
            "rows",
            n as f64,
            "at least 2 rows for the covariance term",
        ));
    }
    let mut zc = DMatrix::from_row_slice(n, d, z);
    for j in 0..d {
        let mean = zc.column(j).sum() / n as f64;
        zc.column_mut(j).add_scalar_mut(-mean);
    }
    let mut c = zc.transpose() * &zc / (n - 1) as f64;
    let mut total = 0.0;
    for i in 0..d {
        for j in 0..d {
            if i != j {
                total += c[(i, j)] * c[(i, j)];
            }
        }
        c[(i, i)] = 0.0;
    }
    if let Some(g) = grad {
        check::same_len("grad (n * D)", n * d, g.len())?;
        let gm = &zc * &c * (4.0 / (d as f64 * (n - 1) as f64));
        for i in 0..n {
            for j in 0..d {
                g[i * d + j] += w * gm[(i, j)];
            }
        }
    }
    Ok(total / d as f64)
}

/// `L_SVD` (top-`k` share of the singular values, negated) and, when `grad` is given,
/// `grad += w * dL/dZ`. The gradient needs distinct non-zero singular values to be stable.
pub fn singular_share(
    z: &[f64],
    n: usize,
    d: usize,
    k: usize,
    w: f64,
    grad: Option<&mut [f64]>,
) -> Result<f64> {
    check_matrix("features Z", z, n, d)?;
    check::nonzero("k", k)?;
    let m = DMatrix::from_row_slice(n, d, z);
    let svd = m.svd(grad.is_some(), grad.is_some());
    let s = &svd.singular_values;
    let q = s.len();
    let mut order: Vec<usize> = (0..q).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let kk = k.min(q);
    let big_s = s.iter().sum::<f64>().max(1e-12);
    let top: f64 = order[..kk].iter().map(|&i| s[i]).sum();
    let value = -(top / big_s) / kk as f64;
    if let Some(g) = grad {
        check::same_len("grad (n * D)", n * d, g.len())?;
        let (Some(u), Some(vt)) = (svd.u.as_ref(), svd.v_t.as_ref()) else {
            return Err(Error::Numerical("SVD did not return singular vectors"));
        };
        let mut coef = vec![0.0; q];
        for (rank, &i) in order.iter().enumerate() {
            let ind = if rank < kk { 1.0 } else { 0.0 };
            coef[i] = -(ind / big_s - top / (big_s * big_s)) / kk as f64;
        }
        for r in 0..n {
            for c in 0..d {
                let mut acc = 0.0;
                for i in 0..q {
                    acc += u[(r, i)] * coef[i] * vt[(i, c)];
                }
                g[r * d + c] += w * acc;
            }
        }
    }
    Ok(value)
}

/// All three regularisers on `Z` against the original features `F`; adds the weighted gradient to
/// `grad` when given. A zero weight skips its term (value reported as 0).
pub fn regularizers(
    z: &[f64],
    f: &[f64],
    n: usize,
    d: usize,
    w: &NmtuneWeights,
    mut grad: Option<&mut [f64]>,
) -> Result<NmtuneRegs> {
    w.validate()?;
    let mut r = NmtuneRegs::default();
    if w.mse > 0.0 {
        r.mse = mse_consistency(z, f, n, d, w.mse, grad.as_deref_mut())?;
    }
    if w.cov > 0.0 {
        r.cov = covariance(z, n, d, w.cov, grad.as_deref_mut())?;
    }
    if w.svd > 0.0 {
        r.svd = singular_share(z, n, d, w.k, w.svd, grad)?;
    }
    r.total = w.mse * r.mse + w.cov * r.cov + w.svd * r.svd;
    Ok(r)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    const Z1: [f64; 12] = [1., 0., 2., 0., 1., 1., 1., 1., 0., 2., 0., 1.];
    const F1: [f64; 12] = [1., 0., 1., 0., 1., 0., 1., 0., 0., 1., 1., 1.];

    fn case2() -> (Vec<f64>, Vec<f64>) {
        let mut z = vec![0.0; 48];
        let mut f = vec![0.0; 48];
        for i in 0..8 {
            for j in 0..6 {
                z[i * 6 + j] = ((3 * i + 5 * j) % 7) as f64 - 3.0;
                f[i * 6 + j] = ((2 * i + 3 * j) % 5) as f64 - 2.0 + 1.0;
            }
            z[i * 6] += 0.5;
        }
        (z, f)
    }

    #[test]
    fn golden_case_1() {
        assert!((covariance(&Z1, 4, 3, 1.0, None).unwrap() - 0.148148148).abs() < 1e-9);
        assert!((singular_share(&Z1, 4, 3, 5, 1.0, None).unwrap() + 1.0 / 3.0).abs() < 1e-15);
        assert!((mse_consistency(&Z1, &F1, 4, 3, 1.0, None).unwrap() - 0.143751078).abs() < 1e-9);
        let r = regularizers(&Z1, &F1, 4, 3, &NmtuneWeights::default(), None).unwrap();
        assert!((r.total - 0.149343671).abs() < 1e-9);
    }

    #[test]
    fn golden_case_2() {
        let (z, f) = case2();
        assert!((singular_share(&z, 8, 6, 5, 1.0, None).unwrap() - -0.188660762).abs() < 1e-9);
        assert!((covariance(&z, 8, 6, 1.0, None).unwrap() - 14.057291667).abs() < 1e-8);
        assert!((mse_consistency(&z, &f, 8, 6, 1.0, None).unwrap() - 0.362312301).abs() < 1e-9);
        let r = regularizers(&z, &f, 8, 6, &NmtuneWeights::default(), None).unwrap();
        assert!((r.total - 0.924415307).abs() < 1e-8);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (z, f) = case2();
        let (n, d) = (8, 6);
        type Term = fn(&[f64], &[f64], usize, usize, Option<&mut [f64]>) -> f64;
        let terms: [(&str, Term, f64); 3] = [
            (
                "mse",
                |z, f, n, d, g| mse_consistency(z, f, n, d, 1.0, g).unwrap(),
                1e-8,
            ),
            (
                "cov",
                |z, _, n, d, g| covariance(z, n, d, 1.0, g).unwrap(),
                5e-7,
            ),
            (
                "svd",
                |z, _, n, d, g| singular_share(z, n, d, 5, 1.0, g).unwrap(),
                1e-8,
            ),
        ];
        for (name, term, tol) in terms {
            let mut g = vec![0.0; n * d];
            term(&z, &f, n, d, Some(&mut g));
            let h = 1e-6;
            for idx in 0..n * d {
                let (mut zp, mut zm) = (z.clone(), z.clone());
                zp[idx] += h;
                zm[idx] -= h;
                let fd = (term(&zp, &f, n, d, None) - term(&zm, &f, n, d, None)) / (2.0 * h);
                assert!(
                    (fd - g[idx]).abs() < tol * (1.0 + fd.abs()),
                    "{name}[{idx}]: fd {fd} vs {}",
                    g[idx]
                );
            }
        }
    }

    #[test]
    fn off_diagonal_and_invariants() {
        let m: Vec<f64> = (0..16).map(|v| v as f64).collect();
        assert_eq!(
            off_diagonal(&m, 4).unwrap(),
            vec![1., 2., 3., 4., 6., 7., 8., 9., 11., 12., 13., 14.]
        );
        let (z, f) = case2();
        // L_SVD in [-1/k, -1/q] and scale-invariant; L_MSE invariant to positive row scaling.
        let s = singular_share(&z, 8, 6, 5, 1.0, None).unwrap();
        assert!((-0.2..=-1.0 / 6.0).contains(&s));
        let z2: Vec<f64> = z.iter().map(|v| 2.5 * v).collect();
        assert!((singular_share(&z2, 8, 6, 5, 1.0, None).unwrap() - s).abs() < 1e-12);
        let mut zr = z.clone();
        zr[12..18].iter_mut().for_each(|v| *v *= 4.0);
        let a = mse_consistency(&z, &f, 8, 6, 1.0, None).unwrap();
        let b = mse_consistency(&zr, &f, 8, 6, 1.0, None).unwrap();
        assert!((a - b).abs() < 1e-14);
        // Uncorrelated centred columns: L_COV = 0.
        let zu = [1., 1., -1., 1., 1., -1., -1., -1.];
        assert!(covariance(&zu, 4, 2, 1.0, None).unwrap().abs() < 1e-15);
        // All weights 0: nothing.
        let w0 = NmtuneWeights {
            mse: 0.0,
            cov: 0.0,
            svd: 0.0,
            k: 5,
        };
        assert_eq!(
            regularizers(&z, &f, 8, 6, &w0, None).unwrap(),
            NmtuneRegs::default()
        );
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            covariance(&[1.0, 2.0], 1, 2, 1.0, None),
            Err(Error::InvalidParam { name: "rows", .. })
        ));
        assert!(matches!(
            singular_share(&Z1, 4, 3, 0, 1.0, None),
            Err(Error::InvalidParam { name: "k", .. })
        ));
        let bad = NmtuneWeights {
            cov: -1.0,
            ..NmtuneWeights::default()
        };
        assert!(matches!(
            regularizers(&Z1, &F1, 4, 3, &bad, None),
            Err(Error::InvalidParam { name: "w_cov", .. })
        ));
        assert!(matches!(
            mse_consistency(&Z1, &F1[..9], 4, 3, 1.0, None),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut zn = Z1;
        zn[4] = f64::INFINITY;
        assert!(matches!(
            covariance(&zn, 4, 3, 1.0, None),
            Err(Error::NonFinite { .. })
        ));
    }
}
