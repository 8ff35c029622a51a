//! Tweedie denoisers for Gaussian, Poisson and Gamma noise, given the score of the noisy density.
//!
//! Paper: Kim & Ye, "Noise2Score: Tweedie's Approach to Self-Supervised Image Denoising without
//! Clean Images" (NeurIPS 2021, arXiv 2106.07009); formulas as in the official code
//! (cubeyoung/Noise2Score `models/{Gaussian,Poisson,Gamma}_model.py`), spec 10 item 2:
//! * Gaussian (std `sigma`): `x_hat = y + sigma^2 s(y)` (posterior mean).
//! * Poisson (scale `zeta`, `y = zeta n`): `x_hat = (y + zeta/2) exp(zeta s(y))` with `s` the score
//!   w.r.t. `y` (= `zeta (n + 1/2) exp(s_n(n))`, since `s_n = zeta s_y`); a geometric posterior mean
//!   using `psi(n + 1) ~ ln(n + 1/2)`.
//! * Gamma (shape `k`, `y = x G`, `G ~ Gamma(k, 1/k)`): `x_hat = k y / ((k - 1) - y s(y))`, the
//!   harmonic posterior mean `1 / E[1/x | y]`. A non-positive denominator makes the estimate invalid:
//!   the slice version writes NaN there and returns the count (the reference code does not guard).
//!   `y = 0` gives `x_hat = 0`.
//!
//! Cost O(1) per pixel; no allocation.

use crate::error::{check, Result};

/// Gaussian Tweedie for one pixel: `y + sigma^2 s`.
pub fn gaussian(y: f64, s: f64, sigma: f64) -> Result<f64> {
    check::positive("sigma", sigma)?;
    Ok(y + sigma * sigma * s)
}

/// Poisson Tweedie for one pixel: `(y + zeta/2) exp(zeta s)`. `y >= 0` (a scaled count).
pub fn poisson(y: f64, s: f64, zeta: f64) -> Result<f64> {
    check::positive("zeta", zeta)?;
    check::non_negative("y (Poisson observation)", y)?;
    Ok((y + 0.5 * zeta) * libm::exp(zeta * s))
}

/// Gamma Tweedie for one pixel: `k y / ((k - 1) - y s)`; `None` when the denominator is `<= 0`
/// (invalid estimate). `y >= 0`, `k > 0`.
pub fn gamma(y: f64, s: f64, k: f64) -> Result<Option<f64>> {
    check::positive("k", k)?;
    check::non_negative("y (Gamma observation)", y)?;
    if y == 0.0 {
        return Ok(Some(0.0));
    }
    let den = (k - 1.0) - y * s;
    Ok((den > 0.0).then(|| k * y / den))
}

/// Which Tweedie formula to apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseModel {
    /// Additive Gaussian with this standard deviation.
    Gaussian(f64),
    /// Scaled Poisson with this scale `zeta`.
    Poisson(f64),
    /// Multiplicative Gamma with this shape `k`.
    Gamma(f64),
}

/// Denoises a whole image: `x_hat[i] = tweedie(y[i], s[i])`. Returns the number of invalid pixels
/// (Gamma non-positive denominators, written as NaN; always 0 for Gaussian and Poisson).
pub fn denoise(model: NoiseModel, y: &[f64], s: &[f64], x_hat: &mut [f64]) -> Result<usize> {
    check::same_len("tweedie score", y.len(), s.len())?;
    check::same_len("tweedie output", y.len(), x_hat.len())?;
    let mut invalid = 0;
    for ((o, &yi), &si) in x_hat.iter_mut().zip(y).zip(s) {
        *o = match model {
            NoiseModel::Gaussian(sigma) => gaussian(yi, si, sigma)?,
            NoiseModel::Poisson(zeta) => poisson(yi, si, zeta)?,
            NoiseModel::Gamma(k) => match gamma(yi, si, k)? {
                Some(v) => v,
                None => {
                    invalid += 1;
                    f64::NAN
                }
            },
        };
    }
    Ok(invalid)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn golden_cases_1_to_3() {
        assert!((gaussian(0.5, -2.0, 0.1).unwrap() - 0.48).abs() < 1e-15);
        assert!((poisson(0.37, -1.5, 0.01).unwrap() - 0.3694169774).abs() < 1e-10);
        assert!((gamma(0.6, 2.0, 100.0).unwrap().unwrap() - 0.6134969325).abs() < 1e-10);
    }

    #[test]
    fn zero_score_and_single_gaussian_prior() {
        assert_eq!(gaussian(0.3, 0.0, 0.2).unwrap(), 0.3);
        assert!((gamma(0.3, 0.0, 10.0).unwrap().unwrap() - 10.0 * 0.3 / 9.0).abs() < 1e-15);
        assert!((poisson(0.3, 0.0, 0.02).unwrap() - 0.31).abs() < 1e-15);
        // Prior N(m, tau^2): y ~ N(m, tau^2 + sigma^2), s(y) = -(y - m)/(tau^2 + sigma^2).
        let (m, tau, sigma, y): (f64, f64, f64, f64) = (0.4, 0.2, 0.1, 0.75);
        let s = -(y - m) / (tau * tau + sigma * sigma);
        let want = (tau * tau * y + sigma * sigma * m) / (tau * tau + sigma * sigma);
        assert!((gaussian(y, s, sigma).unwrap() - want).abs() < 1e-14);
    }

    #[test]
    fn invalid_pixels_and_errors() {
        let mut out = [0.0; 3];
        let n = denoise(
            NoiseModel::Gamma(2.0),
            &[0.5, 0.0, 1.0],
            &[3.0, 5.0, 0.0],
            &mut out,
        )
        .unwrap();
        assert_eq!(n, 1);
        assert!(out[0].is_nan() && out[1] == 0.0 && (out[2] - 2.0).abs() < 1e-15);
        assert!(matches!(
            gaussian(0.1, 0.0, 0.0),
            Err(Error::InvalidParam { name: "sigma", .. })
        ));
        assert!(matches!(
            poisson(0.1, 0.0, -1.0),
            Err(Error::InvalidParam { name: "zeta", .. })
        ));
        assert!(matches!(
            poisson(-0.1, 0.0, 0.1),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            gamma(0.1, 0.0, 0.0),
            Err(Error::InvalidParam { name: "k", .. })
        ));
        assert!(matches!(
            denoise(
                NoiseModel::Gaussian(0.1),
                &[0.1],
                &[0.1, 0.2],
                &mut out[..1]
            ),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
