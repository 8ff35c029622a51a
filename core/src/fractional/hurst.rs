//! Hurst index estimation from a sampled path by the variogram (second-order quadratic variation)
//! ratio.
//!
//! Reference: spec 08 section 7 (Daems et al. 2023, arXiv 2310.12975, recover H); the estimator is
//! the classical increment-variance ratio (e.g. Istas & Lang 1997, Coeurjolly 2001):
//! `E |X(t + h) - X(t)|^2 = h^2H` for fBM, so
//! `H_hat = 0.5 log2( mean_i (x_{i+2m} - x_i)^2 / mean_i (x_{i+m} - x_i)^2 )`.
//! Not clipped to (0, 1). Caveat: MA-fBM is Brownian below the time scale `1/gamma_max`; apply the
//! estimator at lags in `[1/gamma_max, T/8]`.
//! Cost: `O(len)`, no allocation.

use crate::error::{check, Error, Result};

/// Variogram Hurst estimate of path `x` at lag `m >= 1` (needs `x.len() > 2m + 1`).
/// Errors: short path or `m = 0` -> `InvalidParam`; non-finite sample -> `NonFinite`; constant
/// path (zero increments) -> `Numerical`.
pub fn hurst_variogram(x: &[f64], m: usize) -> Result<f64> {
    check::nonzero("m", m)?;
    if m.checked_mul(2).is_none_or(|m2| x.len() <= m2 + 1) {
        return Err(Error::invalid("path length", x.len() as f64, "> 2 m + 1"));
    }
    check::all_finite_f64("path", x)?;
    let msq = |lag: usize| {
        x.iter()
            .zip(&x[lag..])
            .map(|(a, b)| (b - a) * (b - a))
            .sum::<f64>()
            / (x.len() - lag) as f64
    };
    let (v1, v2) = (msq(m), msq(2 * m));
    if v1 <= 0.0 || v2 <= 0.0 {
        return Err(Error::Numerical(
            "degenerate (constant) path: zero increments",
        ));
    }
    Ok(0.5 * libm::log2(v2 / v1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_path_matches_spec() {
        let h = hurst_variogram(&[0.0, 1.0, 0.0, 2.0, 1.0, 3.0], 1).unwrap();
        assert!((h - -0.7762705115).abs() < 1e-9, "{h}");
    }

    #[test]
    fn brownian_motion_gives_one_half() {
        let mut rng = crate::rng::default_rng(4);
        let mut x = [0.0; 20_001];
        for i in 1..x.len() {
            x[i] = x[i - 1] + crate::rng::seq::normal(&mut rng);
        }
        let h = hurst_variogram(&x, 1).unwrap();
        assert!((h - 0.5).abs() < 0.02, "{h}");
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            hurst_variogram(&[0.0, 1.0, 2.0], 1),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            hurst_variogram(&[0.0; 10], 0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            hurst_variogram(&[1.0; 10], 1),
            Err(Error::Numerical(_))
        ));
        assert!(matches!(
            hurst_variogram(&[0.0, 1.0, f64::NAN, 1.0], 1),
            Err(Error::NonFinite { .. })
        ));
    }
}
