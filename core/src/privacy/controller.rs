//! The clipping/noise controller interface and the fixed and RL-hook controllers.
//!
//! RLDP (Khadangi et al. 2025, arXiv 2507.22565) makes the DP-SGD knobs a control problem: each
//! step a controller observes training statistics and returns [`Knobs`] = per-group clip
//! thresholds `C_k` and noise multipliers `z_k` (noise std `z_k C_k`), plus the noise multiplier
//! of any other private release in the same step (`extra`, e.g. the adaptive-clipping count).
//! The ledger is charged `z_eff = (sum_k z_k^-2 + extra^-2)^(-1/2)` ([`super::groups`]).
//! Composition by addition is valid only if the knobs of step `t` depend on public or
//! already-private information: a controller that reads raw per-sample statistics without
//! privatising them reports [`Accounting::Heuristic`], and its epsilon is NOT a guarantee.
//!
//! [`RlHook`] is the learned controller's core side: a host policy maps the privacy-safe
//! observation to an action `a in [-1, 1]^(2K)` (tanh-squashed SAC policy), mapped log-linearly to
//! `C_k = exp(ln C_min + (a_k + 1)/2 (ln C_max - ln C_min))` and likewise `z_k` in
//! `[z_min, z_max]`; the action is refreshed every `period` steps and held in between.
//! Cost: O(K) per step.

use heapless::Vec;

use super::clip::MAX_GROUPS;
use super::groups::effective_noise_multiplier;
use crate::error::{Error, Result};

/// The knobs of one DP-SGD step.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    /// Per-group clip thresholds `C_k > 0`.
    pub clip: Vec<f64, MAX_GROUPS>,
    /// Per-group noise multipliers `z_k >= 0` (noise std `z_k C_k`).
    pub noise: Vec<f64, MAX_GROUPS>,
    /// Noise multiplier of another private release in the same step (adaptive-clipping count).
    pub extra: Option<f64>,
}

impl Knobs {
    /// `groups` groups with the same threshold and noise multiplier.
    pub fn uniform(groups: usize, clip: f64, z: f64) -> Result<Self> {
        if groups == 0 || groups > MAX_GROUPS {
            return Err(Error::invalid("groups", groups as f64, "between 1 and 16"));
        }
        let mut k = Knobs {
            clip: Vec::new(),
            noise: Vec::new(),
            extra: None,
        };
        for _ in 0..groups {
            let _ = k.clip.push(clip);
            let _ = k.noise.push(z);
        }
        Ok(k)
    }

    /// The effective noise multiplier charged to the ledger.
    pub fn z_eff(&self) -> Result<f64> {
        match self.extra {
            Some(e) => effective_noise_multiplier(&self.noise, &[e]),
            None => effective_noise_multiplier(&self.noise, &[]),
        }
    }

    /// Multiplies every noise multiplier (and `extra`) by `f` (scales `z_eff` by `f`).
    pub fn scale_noise(&mut self, f: f64) {
        for z in self.noise.iter_mut() {
            *z *= f;
        }
        if let Some(e) = self.extra.as_mut() {
            *e *= f;
        }
    }
}

/// Whether a controller's epsilon is a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounting {
    /// Knobs depend only on public or privatised (and charged) information.
    Private,
    /// Knobs read raw per-sample statistics: the reported epsilon is not a valid guarantee.
    Heuristic,
}

/// Raw (privacy-unsafe) statistics of the step just taken.
#[derive(Debug, Clone, Copy)]
pub struct RawStats<'a> {
    /// Pre-clip per-group norms, `rows x groups` row-major (NaN for dropped samples).
    pub norms: &'a [f32],
    /// Number of groups.
    pub groups: usize,
}

/// What a controller sees after step `step`.
#[derive(Debug, Clone, Copy)]
pub struct ControllerObs<'a> {
    /// The step just taken (0-based).
    pub step: u64,
    /// Planned number of steps.
    pub total_steps: u64,
    /// `||g_hat||` of the noisy gradient (public: post-processing).
    pub noisy_grad_norm: f64,
    /// Loss on public / validation data, if any.
    pub public_loss: Option<f64>,
    /// Epsilon spent so far.
    pub eps_spent: f64,
    /// Epsilon target.
    pub eps_target: f64,
    /// Raw statistics, present only when the trainer opts in.
    pub raw: Option<RawStats<'a>>,
}

/// A pluggable knob policy.
pub trait Controller {
    /// Sees the outcome of the last step.
    fn observe(&mut self, obs: &ControllerObs<'_>) -> Result<()>;
    /// The knobs for step `t`.
    fn act(&mut self, t: u64) -> Result<Knobs>;
    /// Short name for tables.
    fn name(&self) -> &str;
    /// Whether its epsilon is a guarantee.
    fn accounting(&self) -> Accounting;
}

/// Plain DP-SGD: constant knobs.
#[derive(Debug, Clone)]
pub struct Fixed {
    knobs: Knobs,
}

impl Fixed {
    /// Constant knobs (checked: clips > 0, noise >= 0).
    pub fn new(knobs: Knobs) -> Result<Self> {
        for &c in &knobs.clip {
            super::clip::check_clip(c)?;
        }
        knobs.z_eff()?;
        Ok(Self { knobs })
    }
}

impl Controller for Fixed {
    fn observe(&mut self, _obs: &ControllerObs<'_>) -> Result<()> {
        Ok(())
    }
    fn act(&mut self, _t: u64) -> Result<Knobs> {
        Ok(self.knobs.clone())
    }
    fn name(&self) -> &str {
        "fixed"
    }
    fn accounting(&self) -> Accounting {
        Accounting::Private
    }
}

/// A host policy: privacy-safe features in, action in `[-1, 1]^(2K)` out.
pub trait Policy {
    /// Writes the action for `features` into `action` (length `2K`: K clip then K noise entries).
    fn action(&mut self, features: &[f64], action: &mut [f64]) -> Result<()>;
}

/// Action ranges of [`RlHook`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionRanges {
    /// Smallest clip threshold.
    pub clip_min: f64,
    /// Largest clip threshold.
    pub clip_max: f64,
    /// Smallest noise multiplier.
    pub z_min: f64,
    /// Largest noise multiplier.
    pub z_max: f64,
}

impl ActionRanges {
    /// Maps `a in [-1, 1]` (clamped) log-linearly onto `[lo, hi]`.
    pub fn map(a: f64, lo: f64, hi: f64) -> f64 {
        let a = if a.is_nan() { 0.0 } else { a.clamp(-1.0, 1.0) };
        libm::exp(libm::log(lo) + 0.5 * (a + 1.0) * (libm::log(hi) - libm::log(lo)))
    }

    /// The inverse of [`Self::map`] (for scripted policies).
    pub fn unmap(x: f64, lo: f64, hi: f64) -> f64 {
        2.0 * (libm::log(x) - libm::log(lo)) / (libm::log(hi) - libm::log(lo)) - 1.0
    }
}

/// The core side of a learned (RL) controller: features -> policy -> knobs.
pub struct RlHook<P: Policy> {
    policy: P,
    groups: usize,
    ranges: ActionRanges,
    period: u64,
    extra: Option<f64>,
    current: Option<Knobs>,
    features: [f64; 4],
}

impl<P: Policy> RlHook<P> {
    /// A hook with `groups` groups, action ranges, action period, and an optional extra
    /// mechanism's noise multiplier charged with every step.
    pub fn new(
        policy: P,
        groups: usize,
        ranges: ActionRanges,
        period: u64,
        extra: Option<f64>,
    ) -> Result<Self> {
        if groups == 0 || groups > MAX_GROUPS {
            return Err(Error::invalid("groups", groups as f64, "between 1 and 16"));
        }
        if period == 0 {
            return Err(Error::invalid("period", 0.0, "an integer >= 1"));
        }
        let ok = |x: f64| x.is_finite() && x > 0.0;
        if !(ok(ranges.clip_min) && ok(ranges.clip_max) && ranges.clip_min <= ranges.clip_max) {
            return Err(Error::invalid(
                "clip range",
                ranges.clip_min,
                "0 < clip_min <= clip_max",
            ));
        }
        if !(ok(ranges.z_min) && ok(ranges.z_max) && ranges.z_min <= ranges.z_max) {
            return Err(Error::invalid(
                "noise range",
                ranges.z_min,
                "0 < z_min <= z_max",
            ));
        }
        Ok(Self {
            policy,
            groups,
            ranges,
            period,
            extra,
            current: None,
            features: [0.0; 4],
        })
    }

    /// The policy (e.g. to train it on the host).
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }
}

impl<P: Policy> Controller for RlHook<P> {
    fn observe(&mut self, obs: &ControllerObs<'_>) -> Result<()> {
        // Privacy-safe features only: progress, budget used, noisy gradient norm, public loss.
        self.features = [
            obs.step as f64 / obs.total_steps.max(1) as f64,
            if obs.eps_target > 0.0 {
                obs.eps_spent / obs.eps_target
            } else {
                0.0
            },
            obs.noisy_grad_norm,
            obs.public_loss.unwrap_or(0.0),
        ];
        Ok(())
    }

    fn act(&mut self, t: u64) -> Result<Knobs> {
        if t.is_multiple_of(self.period) || self.current.is_none() {
            let mut a = [0.0f64; 2 * MAX_GROUPS];
            let k = self.groups;
            self.policy.action(&self.features, &mut a[..2 * k])?;
            let r = self.ranges;
            let mut knobs = Knobs::uniform(k, 1.0, 1.0)?;
            for g in 0..k {
                knobs.clip[g] = ActionRanges::map(a[g], r.clip_min, r.clip_max);
                knobs.noise[g] = ActionRanges::map(a[k + g], r.z_min, r.z_max);
            }
            knobs.extra = self.extra;
            self.current = Some(knobs);
        }
        self.current
            .clone()
            .ok_or(Error::Numerical("RL hook has no action"))
    }

    fn name(&self) -> &str {
        "rl-hook"
    }

    fn accounting(&self) -> Accounting {
        Accounting::Private
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Const([f64; 2]);
    impl Policy for Const {
        fn action(&mut self, _f: &[f64], a: &mut [f64]) -> Result<()> {
            a.copy_from_slice(&self.0);
            Ok(())
        }
    }

    #[test]
    fn rl_hook_maps_actions_and_holds_them() {
        let r = ActionRanges {
            clip_min: 0.01,
            clip_max: 100.0,
            z_min: 0.3,
            z_max: 10.0,
        };
        let mut h = RlHook::new(Const([0.0, 1.0]), 1, r, 10, None).unwrap();
        let k = h.act(0).unwrap();
        assert!((k.clip[0] - 1.0).abs() < 1e-12);
        assert!((k.noise[0] - 10.0).abs() < 1e-12);
        h.policy_mut().0 = [-1.0, -1.0];
        assert_eq!(h.act(5).unwrap(), k, "held between periods");
        let k2 = h.act(10).unwrap();
        assert!((k2.clip[0] - 0.01).abs() < 1e-12 && (k2.noise[0] - 0.3).abs() < 1e-12);
        let a = ActionRanges::unmap(0.37, 0.01, 100.0);
        assert!((ActionRanges::map(a, 0.01, 100.0) - 0.37).abs() < 1e-14);
        assert!(RlHook::new(Const([0.0, 0.0]), 1, r, 0, None).is_err());
    }

    #[test]
    fn knobs_charge_z_eff() {
        let mut k = Knobs::uniform(4, 1.0, 2.0).unwrap();
        assert!((k.z_eff().unwrap() - 1.0).abs() < 1e-15);
        k.scale_noise(2.0);
        assert!((k.z_eff().unwrap() - 2.0).abs() < 1e-15);
        assert!(Knobs::uniform(0, 1.0, 1.0).is_err());
        assert!(Fixed::new(Knobs::uniform(1, 0.0, 1.0).unwrap()).is_err());
    }
}
