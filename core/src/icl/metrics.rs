//! Agreement metrics between in-context learners: squared prediction difference (SPD), implicit
//! linear weight difference (ILWD), and matrix alignment of step sizes.
//!
//! Akyürek et al. 2022, "What learning algorithm is in-context learning? Investigations with
//! linear models" (arXiv 2211.15661) for SPD/ILWD; Mahankali et al. 2023 (arXiv 2307.03576, spec
//! 01 §8) for the alignment of `Gamma_eff`.
//!
//! `SPD(A1, A2) = E_D E_x' (A1(D)(x') - A2(D)(x'))^2`, estimated as a mean over paired predictions
//! with standard error `sd / sqrt(N)`. Implicit weight of a learner on task `D`:
//! `w_hat = argmin_w sum_j (w·x'_j - A(D)(x'_j))^2` over `m >= d` probes (min-norm least squares),
//! with `R^2 = 1 - SS_res / SS_tot` (`SS_tot` about 0, the implicit model has no intercept);
//! `ILWD = E_D ||w_hat_1 - w_hat_2||^2`. Alignment: `cos_F(A, B) = <A, B>_F / (||A||_F ||B||_F)`,
//! `relF(A, B) = ||A - B||_F / ||B||_F`. Costs: SPD `O(N)`; implicit weight `O(m d^2)` (SVD).

use crate::error::{check, Error, Result};

/// Mean and standard error of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSe {
    /// Sample mean.
    pub mean: f64,
    /// Standard error of the mean (`sd / sqrt(N)`, `sd` with `N - 1`; 0 when `N = 1`).
    pub se: f64,
}

/// Mean and standard error of `f(i)` for `i < len` (two passes, no allocation).
pub fn mean_se(len: usize, f: impl Fn(usize) -> f64) -> Result<MeanSe> {
    check::nonzero("samples", len)?;
    let mean = (0..len).map(&f).sum::<f64>() / len as f64;
    if len == 1 {
        return Ok(MeanSe { mean, se: 0.0 });
    }
    let var = (0..len).map(|i| (f(i) - mean) * (f(i) - mean)).sum::<f64>() / (len - 1) as f64;
    Ok(MeanSe {
        mean,
        se: libm::sqrt(var / len as f64),
    })
}

/// SPD between paired predictions `a[i]`, `b[i]`.
pub fn spd(a: &[f64], b: &[f64]) -> Result<MeanSe> {
    check::same_len("spd", a.len(), b.len())?;
    let r = mean_se(a.len(), |i| (a[i] - b[i]) * (a[i] - b[i]))?;
    check::finite("spd", r.mean)?;
    Ok(r)
}

/// Mean squared error of predictions against targets (same as [`spd`]; named for readability).
pub fn mse(pred: &[f64], target: &[f64]) -> Result<MeanSe> {
    spd(pred, target)
}

/// `cos_F(a, b)`; a zero norm -> [`Error::Numerical`] (never a silent 0/0).
pub fn frob_cos(a: &[f64], b: &[f64]) -> Result<f64> {
    check::same_len("frob_cos", a.len(), b.len())?;
    let (na, nb) = (crate::linalg::norm(a), crate::linalg::norm(b));
    if na == 0.0 || nb == 0.0 || !na.is_finite() || !nb.is_finite() {
        return Err(Error::Numerical("cosine of a zero or non-finite matrix"));
    }
    Ok(crate::linalg::dot(a, b) / (na * nb))
}

/// `relF(a, b) = ||a - b|| / ||b||`; `||b|| = 0` -> [`Error::Numerical`].
pub fn rel_frob(a: &[f64], b: &[f64]) -> Result<f64> {
    check::same_len("rel_frob", a.len(), b.len())?;
    let nb = crate::linalg::norm(b);
    if nb == 0.0 || !nb.is_finite() {
        return Err(Error::Numerical("relative distance to a zero matrix"));
    }
    let diff = libm::sqrt(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>());
    Ok(diff / nb)
}

/// `||a - b||^2` (the ILWD of one task once the implicit weights are known).
pub fn sq_dist(a: &[f64], b: &[f64]) -> Result<f64> {
    check::same_len("sq_dist", a.len(), b.len())?;
    Ok(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum())
}

/// The implicit linear weight of a learner on one task: least squares of its predictions `preds`
/// (length `m`) on the probes (`m x d` row-major), into `w`; returns the `R^2` of the fit.
///
/// Errors: `m < d` -> `InvalidParam` named `"probes"`.
#[cfg(feature = "alloc")]
pub fn implicit_weight(
    probes: &[f64],
    preds: &[f64],
    m: usize,
    d: usize,
    w: &mut [f64],
) -> Result<f64> {
    check::nonzero("d", d)?;
    if m < d {
        return Err(Error::invalid(
            "probes",
            m as f64,
            "at least d probe points",
        ));
    }
    crate::icl::ridge::ols_weights(probes, preds, m, d, w)?;
    let ss_tot: f64 = preds.iter().map(|p| p * p).sum();
    let ss_res: f64 = probes
        .chunks_exact(d)
        .zip(preds)
        .map(|(x, p)| (crate::linalg::dot(x, w) - p) * (crate::linalg::dot(x, w) - p))
        .sum();
    Ok(if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    const WGD: [f64; 2] = [0.5, 2.0 / 3.0];
    const WR: [f64; 2] = [0.625, 1.125];
    const WOLS: [f64; 2] = [2.0 / 3.0, 5.0 / 3.0];
    const PROBES: [f64; 8] = [1.0, 0.0, 0.0, 1.0, 1.0, 2.0, -1.0, 1.0];

    fn preds(w: &[f64]) -> Vec<f64> {
        PROBES
            .chunks_exact(2)
            .map(|x| crate::linalg::dot(x, w))
            .collect()
    }

    #[test]
    fn spec_12_spd_ilwd_oracles() {
        // Empirical SPD on the fixed probes.
        for (a, b, want) in [
            (WGD, WR, 0.355469),
            (WGD, WOLS, 1.604167),
            (WR, WOLS, 0.452691),
        ] {
            let s = spd(&preds(&a), &preds(&b)).unwrap();
            assert!((s.mean - want).abs() < 5e-7, "{} vs {want}", s.mean);
        }
        // ILWD = ||dw||^2 exactly, R^2 = 1 for linear learners.
        for (a, b, want) in [
            (WGD, WR, 0.225694),
            (WGD, WOLS, 1.027778),
            (WR, WOLS, 0.295139),
        ] {
            let (mut wa, mut wb) = ([0.0; 2], [0.0; 2]);
            let ra = implicit_weight(&PROBES, &preds(&a), 4, 2, &mut wa).unwrap();
            let rb = implicit_weight(&PROBES, &preds(&b), 4, 2, &mut wb).unwrap();
            assert!((ra - 1.0).abs() < 1e-12 && (rb - 1.0).abs() < 1e-12);
            assert!((sq_dist(&wa, &wb).unwrap() - want).abs() < 5e-7);
        }
        // SPD(A, A) = 0 and symmetry.
        assert_eq!(spd(&preds(&WGD), &preds(&WGD)).unwrap().mean, 0.0);
        assert_eq!(
            spd(&preds(&WGD), &preds(&WR)).unwrap(),
            spd(&preds(&WR), &preds(&WGD)).unwrap()
        );
        assert!(matches!(
            implicit_weight(&PROBES[..2], &[1.0], 1, 2, &mut [0.0; 2]),
            Err(Error::InvalidParam { name: "probes", .. })
        ));
    }

    #[test]
    fn alignment_and_errors() {
        assert!((frob_cos(&[1.0, 0.0], &[1.0, 1.0]).unwrap() - 0.5f64.sqrt()).abs() < 1e-15);
        assert!((rel_frob(&[3.0, 4.0], &[0.0, 5.0]).unwrap() - 10f64.sqrt() / 5.0).abs() < 1e-15);
        assert!(matches!(
            frob_cos(&[0.0, 0.0], &[1.0, 1.0]),
            Err(Error::Numerical(_))
        ));
        assert!(matches!(rel_frob(&[1.0], &[0.0]), Err(Error::Numerical(_))));
        let m = mean_se(4, |i| i as f64).unwrap();
        assert_eq!(m.mean, 1.5);
        assert!((m.se - (5.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-15);
        assert!(spd(&[], &[]).is_err());
    }
}
