//! The gradient signal-to-noise ratio of one parameter block, as SGD-SaI uses it.
//!
//! Paper: Xu, Zhang, Zhou, et al., "No More Adam: Learning Rate Scaling at Initialization is All
//! You Need" (SGD-SaI), 2024, arXiv:2412.11768; formula from the authors' code
//! (`sgd_sai/sgd_sai.py`, `warmup_step`):
//!
//! ```text
//! gsnr(g) = ||g||_2 / (std_unbiased(g) + eps)          over all n elements of ONE tensor
//! std := 0 when n == 1 (torch gives NaN, the code maps it to 0)
//! ```
//! (the paper text writes `sqrt(var + eps)`; the shipped code adds eps to the std, as here).
//! Identity (eps -> 0): `gsnr^2 = (n - 1) + n mean^2 / s^2` since `||g||^2 = n mean^2 + (n-1) s^2`,
//! so for near-zero-mean gradient entries `gsnr ~ sqrt(n - 1)`: SGD-SaI mostly multiplies each
//! tensor's lr by about `sqrt(numel)`, which is why the value is stable over training.
//! Cost: two passes (mean, then centred sum of squares) in f64, O(1) memory.

use crate::error::{Error, Result};

/// What to do with blocks whose std is 0 (scalars, constant gradients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GsnrPolicy {
    /// The reference: `gsnr = ||g|| / eps` (huge; a known hazard of the paper's code).
    #[default]
    Reference,
    /// `gsnr = 1` for scalar (`n == 1`) blocks; others as the reference.
    ScalarIsOne,
    /// Every scale is 1: SGD-SaI then is SGDM with the same EMA momentum and decoupled decay (the
    /// spec's SGDM baseline).
    Unit,
}

/// The g-SNR of one block; `None` for an empty block (it gets no state). `eps >= 0`.
/// NaN/Inf in `g` -> [`Error::NonFinite`] (a non-finite scale must never be frozen).
pub fn gsnr_block(g: &[f32], eps: f64, policy: GsnrPolicy) -> Result<Option<f64>> {
    crate::error::check::non_negative("eps", eps)?;
    crate::error::check::all_finite_f32("gradient", g)?;
    let n = g.len();
    if n == 0 {
        return Ok(None);
    }
    match policy {
        GsnrPolicy::Unit => return Ok(Some(1.0)),
        GsnrPolicy::ScalarIsOne if n == 1 => return Ok(Some(1.0)),
        _ => {}
    }
    let mean = g.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let (mut ss, mut sq) = (0.0f64, 0.0f64);
    for &x in g {
        let x = x as f64;
        ss += (x - mean) * (x - mean);
        sq += x * x;
    }
    let std = if n > 1 {
        libm::sqrt(ss / (n - 1) as f64)
    } else {
        0.0
    };
    let r = libm::sqrt(sq) / (std + eps);
    if r.is_finite() {
        Ok(Some(r))
    } else {
        // Only reachable with eps == 0 and a constant block.
        Err(Error::Numerical("gsnr: zero std with eps = 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(x: &[f32]) -> f64 {
        gsnr_block(x, 1e-8, GsnrPolicy::Reference).unwrap().unwrap()
    }

    #[test]
    fn numpy_oracles() {
        // Spec 13 G1..G6: np.linalg.norm(g) / (np.std(g, ddof=1) + 1e-8).
        let rel = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-300);
        assert!(rel(g(&[3.0, 4.0]), 7.071067711865476));
        assert!(rel(g(&[1.0, 2.0, 3.0, 4.0]), 4.242640654255932));
        assert!(rel(g(&[0.5]), 5.0e7));
        assert!(rel(g(&[2.0; 4]), 4.0e8));
        assert_eq!(g(&[0.0; 3]), 0.0);
        // G6 in f32 inputs: the f32 rounding of 1e-3 etc. moves the 7th digit.
        let g6 = g(&[1e-3, -2e-3, 5e-4, 0.0, 1e-3, -1e-3]);
        assert!((g6 - 2.242502612837633).abs() < 1e-6, "{g6}");
    }

    #[test]
    fn identity_and_scale_invariance() {
        let x: [f32; 7] = [0.3, -1.2, 2.5, 0.1, -0.7, 1.9, 0.4];
        let n = 7.0;
        let xs: [f64; 7] = x.map(|v| v as f64);
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let want = libm::sqrt((n - 1.0) + n * mean * mean / var);
        let got = gsnr_block(&x, 0.0, GsnrPolicy::Reference).unwrap().unwrap();
        assert!((got - want).abs() <= 1e-12 * want);
        // Scale invariance is exact only for eps = 0: with eps = 1e-8 and c = 1e-3 the std is
        // ~1e-3 and eps shifts the ratio by ~1e-5 relative (spec 13 claims 1e-6; too tight).
        let g0 = |x: &[f32]| gsnr_block(x, 0.0, GsnrPolicy::Reference).unwrap().unwrap();
        for c in [1e-3f32, 1.0, 1e3] {
            let y = x.map(|v| v * c);
            assert!((g0(&y) - g0(&x)).abs() <= 1e-6 * g0(&x));
            assert!((g(&y) - g(&x)).abs() <= 1e-4 * g(&x));
        }
    }

    #[test]
    fn policies_and_errors() {
        assert_eq!(gsnr_block(&[], 1e-8, GsnrPolicy::Reference).unwrap(), None);
        assert_eq!(
            gsnr_block(&[0.5], 1e-8, GsnrPolicy::ScalarIsOne).unwrap(),
            Some(1.0)
        );
        assert_eq!(
            gsnr_block(&[0.5, 2.0], 1e-8, GsnrPolicy::Unit).unwrap(),
            Some(1.0)
        );
        assert!(matches!(
            gsnr_block(&[1.0, f32::NAN], 1e-8, GsnrPolicy::Reference),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            gsnr_block(&[1.0], -1.0, GsnrPolicy::Reference),
            Err(Error::InvalidParam { name: "eps", .. })
        ));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn statistical_sqrt_n() {
        // Spec 13: n = 10 000 i.i.d. N(0,1) -> gsnr in [99, 101.5]; N(1, 1) -> 141.4 +- 2.
        use crate::rng::bulk::fill_normal_f32;
        let mut z = alloc::vec![0f32; 10_000];
        for seed in 0..5 {
            fill_normal_f32(&crate::NoiseKey::new(seed, 9), &mut z);
            let a = g(&z);
            assert!((99.0..=101.5).contains(&a), "{a}");
            let shifted: alloc::vec::Vec<f32> = z.iter().map(|v| v + 1.0).collect();
            let b = g(&shifted);
            assert!((b - 141.4).abs() <= 2.0, "{b}");
        }
    }
}
