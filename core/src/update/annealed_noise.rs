//! Annealed Gaussian gradient noise.
//!
//! Paper: Neelakantan, Vilnis, Le, Sutskever, Kaiser, Kurach, Martens, "Adding Gradient Noise
//! Improves Learning for Very Deep Networks", 2015, arXiv:1511.06807 (Eq. 1).
//!
//! ```text
//! sigma_t^2 = eta / (1 + t)^gamma        t = 0, 1, 2, ... (updates already applied)
//! g~_t      = g_t + sigma_t z_t,          z_t ~ N(0, I), fresh every step, same sigma for all params
//! ```
//! `eta` is a variance (optax `add_noise`, Chainer `GradientNoise` agree; some ports wrongly use it
//! as a standard deviation). Paper values `eta in {0.01, 0.3, 1.0}`, `gamma = 0.55`; default here
//! `eta = 0.01, gamma = 0.55` (optax's `noisy_sgd`). The noise is applied to the raw gradient, before
//! the learning rate, so any rule composes with it. With clipping, [`NoiseOrder::AfterClip`]
//! (default, optax-style chain) or [`NoiseOrder::BeforeClip`] (TF1 `optimize_loss`).
//!
//! The normals come from a Philox stream ([`crate::rng::bulk`]), so element `i` of step `t` is the
//! same on every backend and for any thread count; the fused backends generate them inside the
//! update pass ([`crate::backend::apply_update`] with `noise = Some((key, sigma))`).
//! Cost: schedule O(1) per step; noise N normals + N FMAs per step.

use crate::error::{check, Result};
use crate::rng::bulk::fill_normal_f32_at;
use crate::rng::NoiseKey;

/// The schedule `sigma_t^2 = eta / (1 + t)^gamma`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnealedGaussian {
    /// Initial variance `eta >= 0` (`0` turns the noise off without drawing numbers).
    pub eta: f64,
    /// Decay exponent `gamma >= 0` (`0` = constant noise).
    pub gamma: f64,
}

impl Default for AnnealedGaussian {
    /// `eta = 0.01, gamma = 0.55` (the paper's smallest recommended eta; optax's default).
    fn default() -> Self {
        Self {
            eta: 0.01,
            gamma: 0.55,
        }
    }
}

/// Where the noise goes relative to global-norm clipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseOrder {
    /// `g~ = clip(g, c) + sigma z` (default: the noise size is exactly the schedule).
    #[default]
    AfterClip,
    /// `g~ = clip(g + sigma z, c)` (TensorFlow 1 `optimize_loss`).
    BeforeClip,
}

impl AnnealedGaussian {
    /// A checked schedule: `eta >= 0`, `gamma >= 0`, both finite.
    pub fn new(eta: f64, gamma: f64) -> Result<Self> {
        let s = Self { eta, gamma };
        s.validate()?;
        Ok(s)
    }

    /// Checks `eta` and `gamma`.
    pub fn validate(&self) -> Result<()> {
        check::non_negative("eta", self.eta)?;
        check::finite("eta", self.eta)?;
        check::non_negative("gamma", self.gamma)?;
        check::finite("gamma", self.gamma)
    }

    /// `sigma_t^2 = eta / (1 + t)^gamma` (f64; safe for any `t`).
    pub fn variance(&self, t: u64) -> f64 {
        self.eta / libm::pow(1.0 + t as f64, self.gamma)
    }

    /// `sigma_t = sqrt(eta) (1 + t)^(-gamma / 2)`.
    pub fn sigma(&self, t: u64) -> f64 {
        libm::sqrt(self.variance(t))
    }

    /// Noise injected per coordinate over the first `steps` updates: `sum_{t < steps} sigma_t^2`.
    /// Cost O(steps).
    pub fn cumulative_variance(&self, steps: u64) -> f64 {
        (0..steps).map(|t| self.variance(t)).sum()
    }
}

/// `g[i] += sigma * z_{start + i}` from `key`'s Philox stream; `sigma == 0` draws nothing (the
/// trajectory is bit-identical to the noiseless one). Non-finite gradient entries pass through.
pub fn add_noise(grad: &mut [f32], sigma: f32, key: &NoiseKey, start: usize) -> Result<()> {
    check::non_negative("sigma", sigma as f64)?;
    if sigma == 0.0 || grad.is_empty() {
        return Ok(());
    }
    if start.checked_add(grad.len()).is_none() {
        return Err(crate::Error::invalid(
            "start",
            start as f64,
            "start + len <= usize::MAX",
        ));
    }
    let mut z = [0f32; 256];
    for (k, chunk) in grad.chunks_mut(256).enumerate() {
        let zs = &mut z[..chunk.len()];
        fill_normal_f32_at(key, start + 256 * k, zs);
        for (g, &zi) in chunk.iter_mut().zip(zs.iter()) {
            *g += sigma * zi;
        }
    }
    Ok(())
}

/// One tensor's gradient transform with explicit normals `z` (so it is testable without an RNG):
/// clipping to global norm `clip` (when given) and `sigma z` in the given `order`.
/// Returns the norm that was clipped (before clipping).
pub fn clip_and_noise(
    grad: &mut [f32],
    z: &[f32],
    sigma: f32,
    clip: Option<f32>,
    order: NoiseOrder,
) -> Result<f64> {
    check::same_len("noise", grad.len(), z.len())?;
    check::non_negative("sigma", sigma as f64)?;
    let add = |g: &mut [f32]| {
        for (g, &z) in g.iter_mut().zip(z) {
            *g += sigma * z;
        }
    };
    match order {
        NoiseOrder::AfterClip => {
            let norm = match clip {
                Some(c) => super::clip::clip_by_global_norm(&mut [&mut *grad], c)?,
                None => super::clip::global_norm(&[&*grad]),
            };
            add(grad);
            Ok(norm)
        }
        NoiseOrder::BeforeClip => {
            add(grad);
            match clip {
                Some(c) => super::clip::clip_by_global_norm(&mut [grad], c),
                None => Ok(super::clip::global_norm(&[&*grad])),
            }
        }
    }
}

#[cfg(test)]
// Oracle values keep the digits of the spec's tables.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;
    use crate::Error;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn schedule_matches_numpy_oracles() {
        // Spec 03 oracles N1..N7 (numpy: var = eta/(1+t)**0.55; std = sqrt(var)).
        let cases = [
            (0.01, 0, 0.01, 0.1),
            (0.01, 1, 0.006830201283771977, 0.08264503181542117),
            (0.01, 99, 0.0007943282347242813, 0.028183829312644536),
            (0.3, 10, 0.0802334150507185, 0.28325503534927404),
            (0.3, 0, 0.3, 0.5477225575051661),
            (1.0, 1000, 0.022374907953866142, 0.14958244533990658),
            (1.0, 9999, 0.006309573444801929, 0.07943282347242812),
        ];
        for (eta, t, var, sd) in cases {
            let s = AnnealedGaussian::new(eta, 0.55).unwrap();
            assert!(close(s.variance(t), var, 1e-12), "var eta={eta} t={t}");
            assert!(close(s.sigma(t), sd, 1e-12), "sigma eta={eta} t={t}");
        }
        let cum = [
            (0.01, 0.4808183166195854),
            (0.3, 14.424549498587545),
            (1.0, 48.0818316619585),
        ];
        for (eta, c) in cum {
            let s = AnnealedGaussian::new(eta, 0.55).unwrap();
            assert!(close(s.cumulative_variance(1000), c, 1e-12));
        }
    }

    #[test]
    fn default_is_optax() {
        assert_eq!(
            AnnealedGaussian::default(),
            AnnealedGaussian {
                eta: 0.01,
                gamma: 0.55
            }
        );
        // gamma = 0: constant noise.
        let s = AnnealedGaussian::new(0.3, 0.0).unwrap();
        assert_eq!(s.variance(0), s.variance(12345));
    }

    #[test]
    fn bad_hyper_parameters_are_typed_errors() {
        for (eta, gamma, name) in [
            (-0.1, 0.55, "eta"),
            (0.01, -1.0, "gamma"),
            (f64::NAN, 0.5, "eta"),
            (0.01, f64::INFINITY, "gamma"),
        ] {
            match AnnealedGaussian::new(eta, gamma) {
                Err(Error::InvalidParam { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            add_noise(&mut [0.0], -1.0, &NoiseKey::new(0, 0), 0),
            Err(Error::InvalidParam { name: "sigma", .. })
        ));
    }

    #[test]
    fn clip_noise_order_oracles() {
        let z = [0.5f32, -1.0];
        let mut g = [3.0f32, 4.0];
        let norm = clip_and_noise(&mut g, &z, 0.1, Some(1.0), NoiseOrder::AfterClip).unwrap();
        assert!((norm - 5.0).abs() < 1e-12);
        assert!(
            (g[0] - 0.65).abs() < 1e-6 && (g[1] - 0.7).abs() < 1e-6,
            "{g:?}"
        );
        let mut g = [3.0f32, 4.0];
        clip_and_noise(&mut g, &z, 0.1, Some(1.0), NoiseOrder::BeforeClip).unwrap();
        assert!(
            (g[0] - 0.6160359202).abs() < 1e-6 && (g[1] - 0.7877180619).abs() < 1e-6,
            "{g:?}"
        );
        let s = AnnealedGaussian::new(0.3, 0.55).unwrap();
        assert!(close(s.sigma(99), 0.15436919071410732, 1e-12));
        let mut g = [3.0f32, 4.0];
        clip_and_noise(&mut g, &z, s.sigma(99) as f32, None, NoiseOrder::BeforeClip).unwrap();
        assert!((g[0] - 3.0771845954).abs() < 1e-6 && (g[1] - 3.8456308093).abs() < 1e-6);
    }

    #[test]
    fn eta_zero_is_bit_identical() {
        let mut g = [1.5f32, -2.0, f32::NAN];
        add_noise(&mut g, 0.0, &NoiseKey::new(1, 2), 0).unwrap();
        assert_eq!(g[..2], [1.5, -2.0]);
        assert!(g[2].is_nan());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn noise_statistics_hold() {
        // Spec 03 statistical tests with N = 1e6 (bounds at p ~ 1e-6, for any seed).
        use alloc::vec;
        let n = 1_000_000usize;
        let s = AnnealedGaussian::default();
        let sig = s.sigma(3);
        let key = NoiseKey::new(77, 5);
        let mut a = vec![0f32; n];
        add_noise(&mut a, sig as f32, &key, 0).unwrap();
        let mut b = vec![0f32; n];
        add_noise(&mut b, sig as f32, &key.advanced(n as u64 / 4), 0).unwrap();
        let mean = a.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0 * sig / (n as f64).sqrt(), "mean {mean}");
        let var = a.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        let v = sig * sig;
        assert!(
            (var - v).abs() < v * 6.0 * (2.0 / n as f64).sqrt(),
            "var {var} vs {v}"
        );
        let corr = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| x as f64 * y as f64)
            .sum::<f64>()
            / n as f64
            / v;
        assert!(corr.abs() < 6.0 / (n as f64).sqrt(), "corr {corr}");
        let mut zs: alloc::vec::Vec<f64> = a.iter().map(|&x| x as f64 / sig).collect();
        let d = crate::rng::stats::ks_statistic(&mut zs, crate::rng::stats::normal_cdf);
        // KS with D < 1.63 / sqrt(N) is the alpha = 0.01 level; use the 1e-6 level 2.7 / sqrt(N).
        assert!(d < 2.7 / (n as f64).sqrt(), "KS D {d}");
    }
}
