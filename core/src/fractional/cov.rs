//! Covariance of the Markov-approximate fBM and its error against the true fBM covariance.
//!
//! Paper: Daems et al., "Variational Inference for SDEs Driven by Fractional Noise", 2023,
//! arXiv 2310.12975 (formulas derived in spec 08, section 4, and checked by quadrature there).
//!
//! Type I (stationary OU states, so `Bhat` has stationary increments):
//! `v(t) = Var Bhat(t) = sum_ij w_i w_j (2 - e^{-g_i t} - e^{-g_j t}) / (g_i + g_j)`,
//! `Cov(Bhat(s), Bhat(t)) = (v(s) + v(t) - v(|t - s|)) / 2`.
//! Type II: `Cov(s, t) = sum_ij w_i w_j e^{-g_i (t-m) - g_j (s-m)} (1 - e^{-(g_i+g_j) m}) / (g_i+g_j)`,
//! `m = min(s, t)`.
//! Target (standard fBM): `R(s, t) = (s^2H + t^2H - |t - s|^2H) / 2`, times `V_H` for the paper
//! normalisation. Error metrics on the grid `t_i = i T / n`, `i = 1..n`: `relFrob = ||C - R||_F /
//! ||R||_F` and `maxAbs = max |C - R|`.
//! Cost: `O(K^2)` per covariance entry, `O(n^2 K^2)` for the metrics (no allocation).

use super::special::v_h;
use super::weights::{Kind, Normalisation, MAX_K};
use crate::error::{check, Error, Result};

fn check_pair(gamma: &[f64], omega: &[f64]) -> Result<()> {
    if gamma.is_empty() || gamma.len() > MAX_K {
        return Err(Error::invalid("K", gamma.len() as f64, "in 1..=32"));
    }
    check::same_len("MA-fBM covariance (omega)", gamma.len(), omega.len())?;
    for &g in gamma {
        check::positive("gamma", g)?;
    }
    check::all_finite_f64("omega", omega)
}

fn var_type1(gamma: &[f64], omega: &[f64], t: f64) -> f64 {
    let mut v = 0.0;
    for (&gi, &wi) in gamma.iter().zip(omega) {
        let ei = libm::exp(-gi * t);
        for (&gj, &wj) in gamma.iter().zip(omega) {
            v += wi * wj * (2.0 - ei - libm::exp(-gj * t)) / (gi + gj);
        }
    }
    v
}

/// `Cov(Bhat(s), Bhat(t))` for times `s, t >= 0`.
pub fn ma_cov(gamma: &[f64], omega: &[f64], kind: Kind, s: f64, t: f64) -> Result<f64> {
    check_pair(gamma, omega)?;
    check::non_negative("s", s)?;
    check::non_negative("t", t)?;
    Ok(match kind {
        Kind::TypeI => {
            0.5 * (var_type1(gamma, omega, s) + var_type1(gamma, omega, t)
                - var_type1(gamma, omega, (t - s).abs()))
        }
        Kind::TypeII => {
            let m = s.min(t);
            let mut c = 0.0;
            for (&gi, &wi) in gamma.iter().zip(omega) {
                for (&gj, &wj) in gamma.iter().zip(omega) {
                    let sum = gi + gj;
                    c += wi
                        * wj
                        * libm::exp(-gi * (t - m) - gj * (s - m))
                        * (-libm::expm1(-sum * m))
                        / sum;
                }
            }
            c
        }
    })
}

/// Standard fBM covariance `(s^2H + t^2H - |t - s|^2H) / 2`.
pub fn fbm_cov(h: f64, s: f64, t: f64) -> f64 {
    let p = 2.0 * h;
    0.5 * (libm::pow(s, p) + libm::pow(t, p) - libm::pow((t - s).abs(), p))
}

/// Error of the approximation's covariance against fBM on a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CovError {
    /// `||C - R||_F / ||R||_F`.
    pub rel_frob: f64,
    /// `max_ij |C_ij - R_ij|`.
    pub max_abs: f64,
}

/// Covariance error of weights `omega` (in normalisation `norm`) on the grid `t_i = i T / n`,
/// `i = 1..n`, against standard fBM (`Standard`) or `V_H` times it (`Paper`).
pub fn cov_error(
    gamma: &[f64],
    omega: &[f64],
    kind: Kind,
    norm: Normalisation,
    h: f64,
    t: f64,
    n_grid: usize,
) -> Result<CovError> {
    check_pair(gamma, omega)?;
    check::open("H", h, 0.0, 1.0, "in (0, 1)")?;
    check::positive("T", t)?;
    check::nonzero("n_grid", n_grid)?;
    let scale = match norm {
        Normalisation::Standard => 1.0,
        Normalisation::Paper => v_h(h)?,
    };
    let (mut num, mut den, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    let dt = t / n_grid as f64;
    for i in 1..=n_grid {
        for j in 1..=n_grid {
            let (ti, tj) = (i as f64 * dt, j as f64 * dt);
            let c = ma_cov(gamma, omega, kind, ti, tj)?;
            let r = scale * fbm_cov(h, ti, tj);
            num += (c - r) * (c - r);
            den += r * r;
            max_abs = max_abs.max((c - r).abs());
        }
    }
    Ok(CovError {
        rel_frob: libm::sqrt(num / den),
        max_abs,
    })
}

#[cfg(test)]
mod tests {
    use super::super::weights::{gamma_grid, omega_optimal};
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    fn weights(h: f64) -> ([f64; 5], [f64; 5]) {
        let mut g = [0.0; 5];
        gamma_grid(20.0, 0, &mut g).unwrap();
        let mut w = [0.0; 5];
        omega_optimal(&g, h, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        (g, w)
    }

    #[test]
    fn covariances_match_spec() {
        let (g, w) = weights(0.3);
        let c = |s, t| ma_cov(&g, &w, Kind::TypeI, s, t).unwrap();
        assert!(close(c(1.0, 1.0), 0.9953846439, 1e-9));
        assert!(close(c(0.5, 1.0), 0.4976923220, 1e-9));
        assert!(close(c(0.25, 0.25), 0.4246600766, 1e-9));
        assert!(close(fbm_cov(0.3, 0.25, 0.25), 0.4352752816, 1e-9));
        let e = cov_error(&g, &w, Kind::TypeI, Normalisation::Standard, 0.3, 1.0, 50).unwrap();
        assert!(close(e.rel_frob, 0.01501, 5e-4), "{}", e.rel_frob);
        let (g, w) = weights(0.7);
        let c = |s, t| ma_cov(&g, &w, Kind::TypeI, s, t).unwrap();
        assert!(close(c(1.0, 1.0), 0.8881080344, 1e-9));
        assert!(close(c(0.25, 0.25), 0.1317340212, 1e-9));
        let e = cov_error(&g, &w, Kind::TypeI, Normalisation::Standard, 0.7, 1.0, 50).unwrap();
        assert!(close(e.rel_frob, 0.10258, 1e-4), "{}", e.rel_frob);
    }

    #[test]
    fn paper_normalisation_errors_scale() {
        // maxAbs / V_H under the paper normalisation equals maxAbs under the standard one.
        let mut g = [0.0; 5];
        gamma_grid(20.0, 0, &mut g).unwrap();
        let mut w = [0.0; 5];
        omega_optimal(&g, 0.3, 1.0, Kind::TypeI, Normalisation::Paper, &mut w).unwrap();
        let e = cov_error(&g, &w, Kind::TypeI, Normalisation::Paper, 0.3, 1.0, 50).unwrap();
        let vh = v_h(0.3).unwrap();
        assert!(close(e.max_abs / vh, 0.01996, 1e-3), "{}", e.max_abs / vh);
        assert!(close(e.rel_frob, 0.01501, 5e-4));
    }

    #[test]
    fn type2_single_component_is_ou_covariance() {
        // K = 1, w = 1: Cov(s, t) = e^{-g|t-s|} (1 - e^{-2 g m}) / (2 g).
        let (g, s, t) = (0.7f64, 0.4f64, 1.1f64);
        let want = (-g * (t - s)).exp() * (1.0 - (-2.0 * g * s).exp()) / (2.0 * g);
        let got = ma_cov(&[g], &[1.0], Kind::TypeII, s, t).unwrap();
        assert!(close(got, want, 1e-13));
        assert!(close(
            ma_cov(&[g], &[1.0], Kind::TypeII, t, s).unwrap(),
            want,
            1e-13
        ));
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            ma_cov(&[1.0], &[1.0, 2.0], Kind::TypeI, 0.0, 1.0),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            ma_cov(&[1.0], &[1.0], Kind::TypeI, -1.0, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            cov_error(
                &[1.0],
                &[1.0],
                Kind::TypeI,
                Normalisation::Standard,
                0.5,
                1.0,
                0
            ),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            cov_error(
                &[1.0],
                &[f64::NAN],
                Kind::TypeI,
                Normalisation::Standard,
                0.5,
                1.0,
                5
            ),
            Err(Error::NonFinite { .. })
        ));
    }
}
