//! Forward noising and image corruptions.
//!
//! * Ornstein-Uhlenbeck (VP, beta = 1) forward process of Han, Razaviyayn & Xu, "Neural Network-Based
//!   Score Estimation in Diffusion Models: Optimization and Generalization" (2024, arXiv 2401.15604):
//!   `dX = -X dt + sqrt(2) dW`, so `X_t = alpha_t X_0 + sigma_t Z` with `alpha_t = exp(-t)`,
//!   `sigma_t^2 = 1 - exp(-2t)`, `Z ~ N(0, I)`.
//! * Noise2Score corruptions (Kim & Ye, "Noise2Score: Tweedie's Approach to Self-Supervised Image
//!   Denoising without Clean Images", 2021, arXiv 2106.07009, `Datageneration.ipynb`):
//!   Gaussian `y = x + sigma n`; Poisson `y = zeta Poisson(x / zeta)` (mean x, variance zeta x);
//!   Gamma `y = x G`, `G ~ Gamma(k, 1/k)` (mean 1, variance 1/k).
//!   The Poisson draw is `rand_distr`'s PTRS transformed rejection for lambda >= 12 and inversion
//!   below (exact for all lambda, no normal approximation); Gamma is Marsaglia-Tsang.
//!
//! Cost O(n) per call; no allocation.

use crate::error::{check, Error, Result};
use crate::rng::seq;
use rand_core::Rng;

/// `(alpha_t, sigma_t^2)` of the unit OU process: `(exp(-t), 1 - exp(-2t))`. `t` must be finite and `>= 0`.
pub fn ou_coefficients(t: f64) -> Result<(f64, f64)> {
    check::non_negative("t", t)?;
    Ok((libm::exp(-t), -libm::expm1(-2.0 * t)))
}

/// `x_t = alpha_t x0 + sigma_t z` for one sample of dimension `d = x0.len()` at time `t`.
pub fn ou_forward(x0: &[f64], t: f64, z: &[f64], out: &mut [f64]) -> Result<()> {
    check::same_len("ou_forward z", x0.len(), z.len())?;
    check::same_len("ou_forward out", x0.len(), out.len())?;
    let (a, s2) = ou_coefficients(t)?;
    let s = libm::sqrt(s2);
    for ((o, &x), &zz) in out.iter_mut().zip(x0).zip(z) {
        *o = a * x + s * zz;
    }
    Ok(())
}

/// Batched OU forward: rows of `x0` (`[n, d]` row-major), times `t` (`[n]`), noise `z` (`[n, d]`).
pub fn ou_forward_batch(x0: &[f64], t: &[f64], z: &[f64], out: &mut [f64]) -> Result<()> {
    let n = t.len();
    check::nonzero("n", n)?;
    if !x0.len().is_multiple_of(n) {
        return Err(Error::len_mismatch("ou_forward_batch x0", n, x0.len()));
    }
    let d = x0.len() / n;
    check::nonzero("d", d)?;
    check::same_len("ou_forward_batch z", x0.len(), z.len())?;
    check::same_len("ou_forward_batch out", x0.len(), out.len())?;
    for (((xr, zr), orow), &ti) in x0
        .chunks_exact(d)
        .zip(z.chunks_exact(d))
        .zip(out.chunks_exact_mut(d))
        .zip(t)
    {
        ou_forward(xr, ti, zr, orow)?;
    }
    Ok(())
}

/// Gaussian corruption `y = x + sigma n`, `sigma >= 0`.
pub fn noise_gaussian<R: Rng + ?Sized>(
    rng: &mut R,
    x: &[f64],
    sigma: f64,
    y: &mut [f64],
) -> Result<()> {
    check::non_negative("sigma", sigma)?;
    check::same_len("noise_gaussian", x.len(), y.len())?;
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v + sigma * seq::normal(rng);
    }
    Ok(())
}

/// Poisson corruption `y = zeta Poisson(x / zeta)`, `zeta > 0`, every `x >= 0` (x = 0 gives y = 0).
pub fn noise_poisson<R: Rng + ?Sized>(
    rng: &mut R,
    x: &[f64],
    zeta: f64,
    y: &mut [f64],
) -> Result<()> {
    check::positive("zeta", zeta)?;
    check::same_len("noise_poisson", x.len(), y.len())?;
    for &v in x {
        check::non_negative("x (Poisson intensity)", v)?;
    }
    for (o, &v) in y.iter_mut().zip(x) {
        *o = zeta * seq::poisson(rng, v / zeta)? as f64;
    }
    Ok(())
}

/// Gamma corruption `y = x G`, `G ~ Gamma(shape k, scale 1/k)`, `k > 0`, every `x >= 0`.
pub fn noise_gamma<R: Rng + ?Sized>(rng: &mut R, x: &[f64], k: f64, y: &mut [f64]) -> Result<()> {
    check::positive("k", k)?;
    check::same_len("noise_gamma", x.len(), y.len())?;
    for &v in x {
        check::non_negative("x (Gamma mean)", v)?;
    }
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v * seq::gamma(rng, k, 1.0 / k)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::{default_rng, stats::moments};

    #[test]
    fn ou_golden_and_t0() {
        let (a, s2) = ou_coefficients(0.5).unwrap();
        assert!((a - 0.6065306597).abs() < 1e-10 && (s2 - 0.6321205588).abs() < 1e-10);
        let mut o = [0.0];
        ou_forward(&[1.0], 0.5, &[0.5], &mut o).unwrap();
        assert!((o[0] - 1.0040607085).abs() < 1e-10);
        ou_forward(&[1.25], 0.0, &[3.0], &mut o).unwrap();
        assert_eq!(o[0], 1.25);
        assert!(matches!(
            ou_coefficients(-0.1),
            Err(Error::InvalidParam { name: "t", .. })
        ));
        assert!(ou_coefficients(f64::NAN).is_err());
        assert!(matches!(
            ou_forward(&[1.0], 0.5, &[0.5, 1.0], &mut o),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn ou_variance_from_zero_mc() {
        // X0 = 0: Var(X_t) = 1 - e^{-2t}; 1e6 draws, rel tol 1e-2 (SE of the variance ~ 0.14%).
        let mut rng = default_rng(11);
        let n = 1_000_000;
        let t = 0.3;
        let mut z = alloc::vec![0.0; n];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut z).unwrap();
        let x0 = alloc::vec![0.0; n];
        let tt = alloc::vec![t; n];
        let mut out = alloc::vec![0.0; n];
        ou_forward_batch(&x0, &tt, &z, &mut out).unwrap();
        let m = moments(&out);
        let want = 1.0 - libm::exp(-2.0 * t);
        assert!((m.var / want - 1.0).abs() < 1e-2, "{} vs {want}", m.var);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn corruption_moments() {
        // x = 0.5, 1e6 draws, relative tolerance 1% on the variance (SE ~ 0.14-0.2%).
        let n = 1_000_000;
        let x = alloc::vec![0.5; n];
        let mut y = alloc::vec![0.0; n];
        let mut rng = default_rng(5);
        noise_gaussian(&mut rng, &x, 0.1, &mut y).unwrap();
        let m = moments(&y);
        assert!((m.mean - 0.5).abs() < 1e-3 && (m.var / 0.01 - 1.0).abs() < 1e-2);
        noise_poisson(&mut rng, &x, 0.01, &mut y).unwrap();
        let m = moments(&y);
        assert!(
            (m.mean - 0.5).abs() < 1e-3 && (m.var / 0.005 - 1.0).abs() < 1e-2,
            "{m:?}"
        );
        noise_gamma(&mut rng, &x, 100.0, &mut y).unwrap();
        let m = moments(&y);
        assert!(
            (m.mean - 0.5).abs() < 1e-3 && (m.var / 0.0025 - 1.0).abs() < 1e-2,
            "{m:?}"
        );
        // x = 0 gives exactly 0.
        let mut y1 = [1.0];
        noise_poisson(&mut rng, &[0.0], 0.05, &mut y1).unwrap();
        assert_eq!(y1[0], 0.0);
        noise_gamma(&mut rng, &[0.0], 10.0, &mut y1).unwrap();
        assert_eq!(y1[0], 0.0);
    }

    #[test]
    fn corruption_bad_input() {
        let mut rng = default_rng(1);
        let mut y = [0.0; 2];
        assert!(matches!(
            noise_gaussian(&mut rng, &[0.1, 0.2], -0.1, &mut y),
            Err(Error::InvalidParam { name: "sigma", .. })
        ));
        assert!(matches!(
            noise_poisson(&mut rng, &[0.1, 0.2], 0.0, &mut y),
            Err(Error::InvalidParam { name: "zeta", .. })
        ));
        assert!(matches!(
            noise_poisson(&mut rng, &[0.1, -0.2], 0.1, &mut y),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            noise_gamma(&mut rng, &[0.1, 0.2], 0.0, &mut y),
            Err(Error::InvalidParam { name: "k", .. })
        ));
        assert!(matches!(
            noise_gamma(&mut rng, &[0.1, 0.2, 0.3], 2.0, &mut y),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
