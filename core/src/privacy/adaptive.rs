//! Quantile-based adaptive clipping with a private quantile estimate.
//!
//! Paper: Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private Learning with Adaptive
//! Clipping", 2021, arXiv 1905.03871 (TF Privacy `QuantileEstimatorQuery`).
//!
//! Per step with current threshold `C`: `b_i = 1[||g_i|| <= C] - 1/2` (sensitivity 1/2),
//! `b_bar = clamp((sum_i b_i + N(0, sigma_b^2)) / m + 1/2, 0, 1)` with `m` the EXPECTED batch size,
//! geometric update `C <- C exp(-eta (b_bar - gamma))` (or arithmetic `C <- C - eta (b_bar - gamma)`),
//! clamped to `[min_clip, max_clip]`; the new `C` is used from the next step on. The count is a
//! Gaussian mechanism with noise multiplier `2 sigma_b`; to keep the per-step cost at a target `z`
//! the gradient noise multiplier is lowered to `z_Delta = (z^-2 - (2 sigma_b)^-2)^(-1/2)`
//! (needs `2 sigma_b > z`), and the ledger is charged `z`. We follow TF Privacy, not Opacus'
//! `AdaClipDPOptimizer` (which counts raw 0/1 with sensitivity 1 and divides by the realised batch).
//! Cost: O(|S|) per step plus one Gaussian draw.

use super::clip::check_clip;
use super::controller::{Accounting, Controller, ControllerObs, Knobs};
use super::dpsgd::check_expected_batch;
use crate::error::{Error, Result};
use crate::rng::{bulk, NoiseKey};

/// Settings of [`QuantileAdaptiveClip`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveConfig {
    /// Target quantile `gamma` in [0, 1] (default 0.5).
    pub quantile: f64,
    /// Learning rate `eta_C` (default 0.2).
    pub lr: f64,
    /// Count noise std `sigma_b` (default `m / 20`).
    pub count_std: f64,
    /// Geometric (default) or arithmetic update.
    pub geometric: bool,
    /// Lower clamp of `C` (default 1e-6).
    pub min_clip: f64,
    /// Upper clamp of `C` (default 1e6).
    pub max_clip: f64,
}

impl AdaptiveConfig {
    /// The defaults for expected batch size `m`.
    pub fn defaults(m: f64) -> Self {
        Self {
            quantile: 0.5,
            lr: 0.2,
            count_std: m / 20.0,
            geometric: true,
            min_clip: 1e-6,
            max_clip: 1e6,
        }
    }
}

/// `z_Delta = (z^-2 - (2 sigma_b)^-2)^(-1/2)`; error when `2 sigma_b <= z`.
pub fn gradient_noise_for_total(z: f64, count_std: f64) -> Result<f64> {
    if !(z.is_finite() && z > 0.0) {
        return Err(Error::invalid(
            "sigma (noise multiplier)",
            z,
            "a finite number > 0",
        ));
    }
    let zc = 2.0 * count_std;
    if !(zc.is_finite() && zc > z) {
        return Err(Error::invalid(
            "sigma_b (count noise std)",
            count_std,
            "2 sigma_b > z (else the count query uses the whole budget)",
        ));
    }
    Ok(1.0 / libm::sqrt(1.0 / (z * z) - 1.0 / (zc * zc)))
}

/// Adaptive clipping to a private quantile of the per-sample norms (one group).
#[derive(Debug, Clone)]
pub struct QuantileAdaptiveClip {
    clip: f64,
    cfg: AdaptiveConfig,
    z_total: f64,
    z_delta: f64,
    m: f64,
    key: NoiseKey,
    t: u64,
}

impl QuantileAdaptiveClip {
    /// Starts at `c0` with total per-step noise multiplier `z` and expected batch size `m`; the
    /// count noise is drawn from `key` (one f64 normal per step).
    pub fn new(c0: f64, z: f64, m: f64, cfg: AdaptiveConfig, key: NoiseKey) -> Result<Self> {
        check_clip(c0)?;
        check_expected_batch(m)?;
        if !(0.0..=1.0).contains(&cfg.quantile) {
            return Err(Error::invalid(
                "quantile (gamma)",
                cfg.quantile,
                "in [0, 1]",
            ));
        }
        if !(cfg.lr.is_finite() && cfg.lr >= 0.0) {
            return Err(Error::invalid(
                "clip learning rate",
                cfg.lr,
                "a finite number >= 0",
            ));
        }
        if !(cfg.min_clip > 0.0 && cfg.min_clip <= cfg.max_clip) {
            return Err(Error::invalid(
                "min_clip",
                cfg.min_clip,
                "0 < min_clip <= max_clip",
            ));
        }
        let z_delta = gradient_noise_for_total(z, cfg.count_std)?;
        Ok(Self {
            clip: c0,
            cfg,
            z_total: z,
            z_delta,
            m,
            key,
            t: 0,
        })
    }

    /// The current threshold.
    pub fn clip(&self) -> f64 {
        self.clip
    }

    /// The gradient noise multiplier `z_Delta`.
    pub fn z_delta(&self) -> f64 {
        self.z_delta
    }

    /// The total per-step noise multiplier charged.
    pub fn z_total(&self) -> f64 {
        self.z_total
    }

    /// The update with a given standard-normal count-noise draw `xi`; `norms` are the realised
    /// batch's per-sample norms (NaN entries, i.e. dropped samples, are skipped). Returns `b_bar`.
    pub fn update_with_noise(&mut self, norms: &[f32], xi: f64) -> f64 {
        let c = self.clip;
        let s: f64 = norms
            .iter()
            .filter(|n| !n.is_nan())
            .map(|&n| if (n as f64) <= c { 0.5 } else { -0.5 })
            .sum();
        let b_bar = ((s + self.cfg.count_std * xi) / self.m + 0.5).clamp(0.0, 1.0);
        let d = b_bar - self.cfg.quantile;
        let next = if self.cfg.geometric {
            c * libm::exp(-self.cfg.lr * d)
        } else {
            c - self.cfg.lr * d
        };
        self.clip = next.clamp(self.cfg.min_clip, self.cfg.max_clip);
        b_bar
    }

    /// The update with the count noise drawn from the controller's key (element `t` of its
    /// f64 normal stream). Returns `b_bar`.
    pub fn update(&mut self, norms: &[f32]) -> f64 {
        let xi = bulk::normal2_f64(&self.key, self.t)[0];
        self.t += 1;
        self.update_with_noise(norms, xi)
    }
}

impl Controller for QuantileAdaptiveClip {
    fn observe(&mut self, obs: &ControllerObs<'_>) -> Result<()> {
        let raw = obs.raw.ok_or(Error::invalid(
            "controller observation",
            0.0,
            "per-sample norms (the adaptive clip privatises them itself)",
        ))?;
        if raw.groups != 1 {
            return Err(Error::invalid(
                "groups",
                raw.groups as f64,
                "1 for this controller",
            ));
        }
        self.update(raw.norms);
        Ok(())
    }

    fn act(&mut self, _t: u64) -> Result<Knobs> {
        let mut k = Knobs::uniform(1, self.clip, self.z_delta)?;
        k.extra = Some(2.0 * self.cfg.count_std);
        Ok(k)
    }

    fn name(&self) -> &str {
        "adaptive"
    }

    fn accounting(&self) -> Accounting {
        Accounting::Private
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_hand_case() {
        let mut norms = [2.0f32; 100];
        norms[..70].fill(0.5);
        let cfg = AdaptiveConfig::defaults(100.0);
        assert_eq!(cfg.count_std, 5.0);
        let mut a =
            QuantileAdaptiveClip::new(1.0, 0.8646021038506408, 100.0, cfg, NoiseKey::new(0, 0))
                .unwrap();
        let b = a.update_with_noise(&norms, 0.5);
        assert!((b - 0.725).abs() < 1e-15);
        assert!((a.clip() - 0.955_997_481_833_1).abs() < 1e-12);
        assert!((a.z_delta() - 0.8678519450036432).abs() < 1e-13);
        let k = a.act(1).unwrap();
        assert!((k.z_eff().unwrap() - 0.8646021038506408).abs() < 1e-13);
    }

    #[test]
    fn noise_correction_and_infeasible() {
        assert!((gradient_noise_for_total(1.1, 12.8).unwrap() - 1.1010168807394207).abs() < 1e-13);
        assert!(matches!(
            gradient_noise_for_total(12.0, 5.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(QuantileAdaptiveClip::new(
            0.0,
            1.0,
            10.0,
            AdaptiveConfig::defaults(10.0),
            NoiseKey::new(0, 0)
        )
        .is_err());
    }

    #[test]
    fn converges_to_the_median_without_noise() {
        // Norms 1..=100: median 50.5; noise-free updates from C = 1000 settle near it.
        let norms: [f32; 100] = core::array::from_fn(|i| (i + 1) as f32);
        let mut cfg = AdaptiveConfig::defaults(100.0);
        cfg.count_std = 1e-3;
        let mut a =
            QuantileAdaptiveClip::new(1000.0, 1e-3, 100.0, cfg, NoiseKey::new(0, 0)).unwrap();
        for _ in 0..500 {
            a.update_with_noise(&norms, 0.0);
        }
        assert!((a.clip() - 50.5).abs() < 3.0, "{}", a.clip());
    }
}
