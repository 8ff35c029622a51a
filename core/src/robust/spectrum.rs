//! Singular-value spectrum analysis of a feature matrix: singular values, their normalised shares,
//! singular-value entropy (SVE) and the largest-singular-value ratio (LSVR).
//!
//! Paper: H. Chen, J. Wang, A. Shah, R. Tao, H. Wei, X. Xie, M. Sugiyama, B. Raj, "Understanding and
//! Mitigating the Label Noise in Pre-training on Downstream Tasks", ICLR 2024, arXiv 2309.17002
//! (official code `src/models/svd.py`; spec 15 section 1).
//!
//! Recipe of the code (defaults): L2-normalise each ROW (`v / max(||v||, 1e-12)`), subtract each
//! row's own mean (per-SAMPLE centring), then the singular values `s_1 >= ... >= s_q`, q = min(n, D):
//! ```text
//! sv_norm = s / sum(s);  SVE = -sum_i sv_norm_i ln(sv_norm_i)  (0 ln 0 = 0);  LSVR = -ln(sv_norm_1)
//! ```
//! Cost: a thin SVD, O(n D min(n, D)) (nalgebra's bidiagonalisation + implicit QR). Feature `alloc`.

use alloc::vec::Vec;

use nalgebra::DMatrix;

use crate::error::{check, Error, Result};

/// Centring applied after the optional row normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Centering {
    /// Subtract each row's mean over the features (the reference code).
    #[default]
    PerSample,
    /// Subtract each feature's mean over the rows (the usual PCA centring).
    PerFeature,
    /// No centring.
    None,
}

/// The spectrum of a feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Singular values, descending (length q = min(n, D)).
    pub sv: Vec<f64>,
    /// `sv / sum(sv)`.
    pub sv_norm: Vec<f64>,
    /// Singular-value entropy (natural log).
    pub sve: f64,
    /// `-ln(sv_norm_1)`.
    pub lsvr: f64,
    /// `sv_norm_1`, the share of the dominant singular value.
    pub top_share: f64,
}

impl Spectrum {
    /// The summary statistics of given singular values (any order; sorted here).
    pub fn from_singular_values(mut sv: Vec<f64>) -> Result<Self> {
        check::nonzero("singular values", sv.len())?;
        check::all_finite_f64("singular values", &sv)?;
        if let Some(&bad) = sv.iter().find(|&&s| s < 0.0) {
            return Err(Error::invalid("singular value", bad, "a number >= 0"));
        }
        sv.sort_by(|a, b| b.total_cmp(a));
        let total: f64 = sv.iter().sum();
        if total.is_nan() || total <= 0.0 {
            return Err(Error::Numerical(
                "all singular values are zero (degenerate feature matrix)",
            ));
        }
        let sv_norm: Vec<f64> = sv.iter().map(|s| s / total).collect();
        let sve = -sv_norm
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| p * libm::log(p))
            .sum::<f64>();
        let top_share = sv_norm[0];
        Ok(Self {
            sv,
            sv_norm,
            sve,
            lsvr: -libm::log(top_share),
            top_share,
        })
    }
}

/// Singular values (descending) of the row-major `n x d` matrix `z`.
pub fn singular_values(z: &[f64], n: usize, d: usize) -> Result<Vec<f64>> {
    check::nonzero("rows", n)?;
    check::nonzero("features", d)?;
    check::same_len("feature matrix (n * D)", n * d, z.len())?;
    check::all_finite_f64("feature matrix", z)?;
    let m = DMatrix::from_row_slice(n, d, z);
    let mut sv: Vec<f64> = m.singular_values().iter().copied().collect();
    sv.sort_by(|a, b| b.total_cmp(a));
    Ok(sv)
}

/// The spectrum of the `n x d` feature matrix `f` after the code's preprocessing
/// (`row_normalize`, then `centering`).
pub fn feature_spectrum(
    f: &[f64],
    n: usize,
    d: usize,
    row_normalize: bool,
    centering: Centering,
) -> Result<Spectrum> {
    check::nonzero("rows", n)?;
    check::nonzero("features", d)?;
    check::same_len("feature matrix (n * D)", n * d, f.len())?;
    check::all_finite_f64("feature matrix", f)?;
    let mut x = f.to_vec();
    if row_normalize {
        for row in x.chunks_exact_mut(d) {
            let norm = libm::sqrt(row.iter().map(|v| v * v).sum::<f64>()).max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    match centering {
        Centering::PerSample => {
            for row in x.chunks_exact_mut(d) {
                let mean = row.iter().sum::<f64>() / d as f64;
                row.iter_mut().for_each(|v| *v -= mean);
            }
        }
        Centering::PerFeature => {
            for j in 0..d {
                let mean = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
                (0..n).for_each(|i| x[i * d + j] -= mean);
            }
        }
        Centering::None => {}
    }
    Spectrum::from_singular_values(singular_values(&x, n, d)?)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn golden_spectra() {
        // Spec 15 case 3: diag(3, 2, 1).
        let s = Spectrum::from_singular_values(vec![1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.sv, vec![3.0, 2.0, 1.0]);
        assert!((s.sv_norm[0] - 0.5).abs() < 1e-15 && (s.sv_norm[2] - 1.0 / 6.0).abs() < 1e-15);
        assert!((s.sve - 1.011404265).abs() < 1e-9);
        // F of case 1, no normalisation or centring.
        let f = [1., 0., 1., 0., 1., 0., 1., 0., 0., 1., 1., 1.];
        let s = feature_spectrum(&f, 4, 3, false, Centering::None).unwrap();
        for (a, b) in s.sv.iter().zip([2.27638822, 1.18592607, 0.64158866]) {
            assert!((a - b).abs() < 1e-8);
        }
        assert!((s.sve - 0.975763172).abs() < 1e-9);
        assert!((s.lsvr - 0.589348388).abs() < 1e-9);
        // Case 2's Z: SVE 1.680906167, LSVR 1.250605132.
        let z = case2_z();
        let s = feature_spectrum(&z, 8, 6, false, Centering::None).unwrap();
        let want = [
            8.86175646, 7.62578028, 4.56748310, 4.42304462, 3.71652060, 1.75470695,
        ];
        for (a, b) in s.sv.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        assert!((s.sve - 1.680906167).abs() < 1e-9);
        assert!((s.lsvr - 1.250605132).abs() < 1e-9);
    }

    pub(crate) fn case2_z() -> alloc::vec::Vec<f64> {
        let mut z = vec![0.0; 48];
        for i in 0..8 {
            for j in 0..6 {
                z[i * 6 + j] = ((3 * i + 5 * j) % 7) as f64 - 3.0;
            }
            z[i * 6] += 0.5;
        }
        z
    }

    #[test]
    fn invariants() {
        let z = case2_z();
        let a = feature_spectrum(&z, 8, 6, false, Centering::None).unwrap();
        let z3: alloc::vec::Vec<f64> = z.iter().map(|v| 3.0 * v).collect();
        let b = feature_spectrum(&z3, 8, 6, false, Centering::None).unwrap();
        assert!((a.sve - b.sve).abs() < 1e-12);
        assert!(a.sve <= 6f64.ln());
        // Row normalisation makes per-row scaling irrelevant.
        let mut zr = z.clone();
        zr[6..12].iter_mut().for_each(|v| *v *= 7.0);
        let c = feature_spectrum(&z, 8, 6, true, Centering::PerSample).unwrap();
        let d = feature_spectrum(&zr, 8, 6, true, Centering::PerSample).unwrap();
        assert!((c.sve - d.sve).abs() < 1e-12);
        // Equal singular values: SVE = ln q.
        let e = Spectrum::from_singular_values(vec![2.0; 4]).unwrap();
        assert!((e.sve - 4f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            feature_spectrum(&[], 0, 3, true, Centering::None),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            feature_spectrum(&[0.0; 6], 2, 3, false, Centering::None),
            Err(Error::Numerical(_))
        ));
        assert!(matches!(
            feature_spectrum(&[0.0; 5], 2, 3, false, Centering::None),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            feature_spectrum(&[f64::NAN; 6], 2, 3, false, Centering::None),
            Err(Error::NonFinite { .. })
        ));
    }
}
