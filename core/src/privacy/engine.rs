//! `PrivacyEngine`: ties sampling, DP-SGD steps and the RDP ledger together and refuses to step
//! past an epsilon budget.
//!
//! Each step is a sampled Gaussian mechanism with the sampling rate of [`Sampling`] and the step's
//! effective noise multiplier (Mironov et al. 2019, arXiv 1908.10530; composition by RDP
//! addition). Before a step is computed, the engine evaluates the epsilon the ledger would show
//! after it; if that exceeds the budget the step is refused with [`Error::BudgetExceeded`] and
//! nothing is charged or released. A step that fails (e.g. a NaN gradient under
//! [`NanPolicy::Error`]) releases nothing and is not charged. Cost: one RDP curve (K orders) per
//! charged step with a new `(q, z)`; no allocation.

use super::clip::{ClipStats, NanPolicy};
use super::dpsgd::{check_noise, dp_sgd_step_groups};
use super::groups::effective_noise_multiplier;
use super::sampling::Sampling;
use crate::accounting::{Guarantee, RdpLedger};
use crate::error::{Error, Result};
use crate::rng::NoiseKey;

/// DP-SGD with an enforced (epsilon, delta) budget.
#[derive(Debug, Clone)]
pub struct PrivacyEngine {
    ledger: RdpLedger,
    sampling: Sampling,
    n_records: usize,
    q: f64,
    delta: f64,
    budget: f64,
    steps: u64,
}

impl PrivacyEngine {
    /// An engine for `n_records` records drawn by `sampling`, with budget `(epsilon, delta)`.
    pub fn new(sampling: Sampling, n_records: usize, epsilon: f64, delta: f64) -> Result<Self> {
        if n_records == 0 {
            return Err(Error::invalid("n (records)", 0.0, "an integer >= 1"));
        }
        let q = sampling.rate(n_records)?;
        if !(delta > 0.0 && delta < 1.0) {
            return Err(Error::invalid("delta", delta, "in (0, 1)"));
        }
        if epsilon.is_nan() || epsilon <= 0.0 {
            return Err(Error::invalid("epsilon (budget)", epsilon, "> 0"));
        }
        Ok(Self {
            ledger: RdpLedger::new(),
            sampling,
            n_records,
            q,
            delta,
            budget: epsilon,
            steps: 0,
        })
    }

    /// The sampling rate charged per step.
    pub fn sample_rate(&self) -> f64 {
        self.q
    }

    /// The expected batch size `q n` (DP-SGD's divisor).
    pub fn expected_batch(&self) -> f64 {
        self.q * self.n_records as f64
    }

    /// The sampling scheme.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// Whether the reported epsilon is a proven guarantee (Poisson sampling) or the usual
    /// approximation (fixed-size batches charged as Poisson).
    pub fn exact_accounting(&self) -> bool {
        self.sampling.exact_accounting()
    }

    /// The ledger.
    pub fn ledger(&self) -> &RdpLedger {
        &self.ledger
    }

    /// Steps charged so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Epsilon spent so far at the engine's delta, and the optimal order.
    pub fn spent(&self) -> Result<Guarantee> {
        self.ledger.epsilon(self.delta)
    }

    /// The budget.
    pub fn budget(&self) -> (f64, f64) {
        (self.budget, self.delta)
    }

    /// Epsilon after one more step with effective noise multiplier `z` (nothing is charged).
    pub fn epsilon_if(&self, z: f64) -> Result<f64> {
        check_noise(z)?;
        Ok(self.ledger.epsilon_if(self.q, z, 1, self.delta)?.value)
    }

    /// Fails with [`Error::BudgetExceeded`] if one more step at `z` would exceed the budget.
    pub fn check(&self, z: f64) -> Result<f64> {
        let eps = self.epsilon_if(z)?;
        if eps > self.budget {
            return Err(Error::BudgetExceeded {
                epsilon: eps,
                budget: self.budget,
            });
        }
        Ok(eps)
    }

    /// Charges one step at effective noise multiplier `z` (after [`Self::check`]); returns the
    /// epsilon spent.
    pub fn charge(&mut self, z: f64) -> Result<f64> {
        let eps = self.check(z)?;
        self.ledger.compose(self.q, z, 1)?;
        self.steps += 1;
        Ok(eps)
    }

    /// A full DP-SGD step on the realised batch's per-sample gradients (`rows x P`) with
    /// per-group thresholds and noise multipliers (one group = flat): checks the budget, computes
    /// `g_hat` into `out`, then charges `z_eff`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        per_sample: &[f32],
        rows: usize,
        groups: &[usize],
        clips: &[f32],
        noise: &[f32],
        policy: NanPolicy,
        key: &NoiseKey,
        out: &mut [f32],
    ) -> Result<ClipStats> {
        let mut zs = [0.0f64; super::clip::MAX_GROUPS];
        if noise.len() > zs.len() {
            return Err(Error::CapacityExceeded {
                what: "parameter groups",
                capacity: zs.len(),
                needed: noise.len(),
            });
        }
        for (o, &z) in zs.iter_mut().zip(noise) {
            *o = z as f64;
        }
        let z_eff = effective_noise_multiplier(&zs[..noise.len()], &[])?;
        self.check(z_eff)?;
        let m = self.expected_batch() as f32;
        let stats =
            dp_sgd_step_groups(per_sample, rows, groups, clips, noise, m, policy, key, out)?;
        self.ledger.compose(self.q, z_eff, 1)?;
        self.steps += 1;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overspend() {
        // Budget = eps of 1000 steps at z = 1, q = 0.01: step 1000 passes, step 1001 is refused.
        let budget = 2.101_365_271_643_056_4 * (1.0 + 1e-12);
        let mut e =
            PrivacyEngine::new(Sampling::Poisson { q: 0.01 }, 10_000, budget, 1e-5).unwrap();
        for _ in 0..1000 {
            e.charge(1.0).unwrap();
        }
        let before = e.spent().unwrap().value;
        assert!(matches!(e.charge(1.0), Err(Error::BudgetExceeded { .. })));
        assert_eq!(e.steps(), 1000);
        assert_eq!(e.spent().unwrap().value, before);
        // A step with more noise may still fit.
        assert!(e.charge(1e4).is_ok() || e.spent().unwrap().value <= budget);
    }

    #[test]
    fn step_clips_noises_and_charges() {
        let mut e = PrivacyEngine::new(Sampling::Poisson { q: 0.5 }, 6, 1e9, 1e-5).unwrap();
        assert_eq!(e.expected_batch(), 3.0);
        let g = [3.0f32, 4.0, 0.3, -0.4, 0.0, 0.0];
        let mut out = [0f32; 2];
        e.step(
            &g,
            3,
            &[2],
            &[1.0],
            &[0.001],
            NanPolicy::Error,
            &NoiseKey::new(1, 1),
            &mut out,
        )
        .unwrap();
        assert!((out[0] - 0.3).abs() < 1e-2 && (out[1] - 0.4 / 3.0).abs() < 1e-2);
        assert_eq!(e.steps(), 1);
        // z = 0: infinite epsilon -> refused, nothing written to the ledger.
        let r = e.step(
            &g,
            3,
            &[2],
            &[1.0],
            &[0.0],
            NanPolicy::Error,
            &NoiseKey::new(1, 2),
            &mut out,
        );
        assert!(matches!(r, Err(Error::BudgetExceeded { .. })));
        // A NaN under the error policy: not charged.
        let bad = [f32::NAN, 1.0];
        let r = e.step(
            &bad,
            1,
            &[2],
            &[1.0],
            &[1.0],
            NanPolicy::Error,
            &NoiseKey::new(1, 3),
            &mut out,
        );
        assert!(matches!(r, Err(Error::NonFinite { .. })));
        assert_eq!(e.steps(), 1);
    }

    #[test]
    fn bad_configuration() {
        assert!(PrivacyEngine::new(Sampling::Poisson { q: 0.0 }, 10, 1.0, 1e-5).is_err());
        assert!(PrivacyEngine::new(Sampling::Poisson { q: 1.5 }, 10, 1.0, 1e-5).is_err());
        assert!(PrivacyEngine::new(Sampling::Poisson { q: 0.1 }, 10, 1.0, 1.0).is_err());
        assert!(PrivacyEngine::new(Sampling::Poisson { q: 0.1 }, 10, 1.0, 0.0).is_err());
        assert!(PrivacyEngine::new(Sampling::Poisson { q: 0.1 }, 10, -1.0, 1e-5).is_err());
        assert!(PrivacyEngine::new(Sampling::FixedSize { batch: 11 }, 10, 1.0, 1e-5).is_err());
        let e = PrivacyEngine::new(Sampling::FixedSize { batch: 5 }, 10, 1.0, 1e-5).unwrap();
        assert!(!e.exact_accounting());
    }
}
