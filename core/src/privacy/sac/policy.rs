//! The RLDP hyper-policy (Khadangi et al. 2025, arXiv 2507.22565): a [`Sac`] agent behind the
//! [`Policy`] interface of [`crate::privacy::RlHook`], trained online during one DP fine-tuning run.
//!
//! State: the hook's privacy-safe features `[t / T, eps_spent / eps_target, ||g_hat||, L_public]`.
//! At each action time (every `period` optimiser steps) the policy forms the transition
//! `(s_prev, a_prev, r, s)` with the reward (spec 11 section 3(c), a reconstruction)
//! `r = (L_prev - L_now) / max(L_prev, 1e-8) - lambda (eps_now - eps_prev) / eps_target`,
//! stores it, runs `updates_per_action` SAC gradient updates once the buffer holds `warmup`
//! transitions, and samples the next action from `pi(.|s)`.
//! Since every input is post-processing of privatised outputs or public data, the policy keeps the
//! hook's [`crate::privacy::Accounting::Private`] status.

use alloc::vec::Vec;

use super::agent::{Sac, SacConfig, SacLosses};
use crate::error::{Error, Result};
use crate::privacy::controller::Policy;

/// Index of `eps_spent / eps_target` in the hook's features.
const EPS_FEATURE: usize = 1;
/// Index of the public loss in the hook's features.
const LOSS_FEATURE: usize = 3;
/// Number of hook features.
const FEATURES: usize = 4;

/// The RLDP reward `(L_prev - L_now) / max(L_prev, 1e-8) - lambda (f_now - f_prev)` where `f` is
/// the spent fraction `eps_spent / eps_target`. A loss `<= 0` means "not observed" (the hook
/// reports 0 before the first step or without public data): then the loss term is 0.
pub fn rldp_reward(
    loss_prev: f64,
    loss_now: f64,
    frac_prev: f64,
    frac_now: f64,
    lambda: f64,
) -> f64 {
    let gain = if loss_prev > 0.0 && loss_now > 0.0 {
        (loss_prev - loss_now) / loss_prev.max(1e-8)
    } else {
        0.0
    };
    gain - lambda * (frac_now - frac_prev)
}

/// Settings of [`SacPolicy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SacPolicyConfig {
    /// The agent (state dimension must be 4, action dimension `2K`).
    pub sac: SacConfig,
    /// Weight of the privacy-spend penalty (spec: 1).
    pub lambda: f64,
    /// SAC gradient updates per action (RLDP README example: 2).
    pub updates_per_action: usize,
    /// Transitions stored before updates start.
    pub warmup: usize,
}

impl SacPolicyConfig {
    /// Spec defaults for `groups` groups: lambda 1, 2 updates per action, warm-up of one minibatch.
    pub fn new(groups: usize, seed: u64) -> Self {
        let sac = SacConfig::new(FEATURES, 2 * groups, seed);
        Self {
            sac,
            lambda: 1.0,
            updates_per_action: 2,
            warmup: sac.batch,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    state: Vec<f64>,
    action: Vec<f64>,
}

/// SAC hyper-policy trained online from the RLDP reward.
#[derive(Debug, Clone)]
pub struct SacPolicy {
    agent: Sac,
    lambda: f64,
    updates_per_action: usize,
    warmup: usize,
    pending: Option<Pending>,
    rewards: Vec<f64>,
    explore: bool,
}

impl SacPolicy {
    /// A fresh policy.
    pub fn new(cfg: SacPolicyConfig) -> Result<Self> {
        if cfg.sac.state_dim != FEATURES {
            return Err(Error::invalid(
                "SAC state_dim",
                cfg.sac.state_dim as f64,
                "4 (the RL hook's features)",
            ));
        }
        if !(cfg.lambda.is_finite() && cfg.lambda >= 0.0) {
            return Err(Error::invalid("lambda", cfg.lambda, "a finite number >= 0"));
        }
        Ok(Self {
            agent: Sac::new(cfg.sac)?,
            lambda: cfg.lambda,
            updates_per_action: cfg.updates_per_action,
            warmup: cfg.warmup.max(1),
            pending: None,
            rewards: Vec::new(),
            explore: true,
        })
    }

    /// The agent.
    pub fn agent(&self) -> &Sac {
        &self.agent
    }

    /// Rewards received so far, in order.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    /// Gradient updates done so far.
    pub fn updates(&self) -> u64 {
        self.agent.updates()
    }

    /// Losses of the last update.
    pub fn last_losses(&self) -> SacLosses {
        self.agent.last_losses()
    }

    /// Sampling (`true`, training) or the mean action `tanh(mu)` without learning (`false`).
    pub fn set_explore(&mut self, explore: bool) {
        self.explore = explore;
    }

    /// Ends an episode (a training run): the next action starts a new trajectory.
    pub fn end_episode(&mut self) {
        self.pending = None;
    }
}

impl Policy for SacPolicy {
    fn action(&mut self, features: &[f64], action: &mut [f64]) -> Result<()> {
        if features.len() != FEATURES {
            return Err(Error::len_mismatch(
                "SAC policy features",
                FEATURES,
                features.len(),
            ));
        }
        if let Some(p) = self.pending.take() {
            let r = rldp_reward(
                p.state[LOSS_FEATURE],
                features[LOSS_FEATURE],
                p.state[EPS_FEATURE],
                features[EPS_FEATURE],
                self.lambda,
            );
            if !r.is_finite() {
                return Err(Error::NonFinite {
                    what: "RLDP reward",
                    index: self.rewards.len(),
                });
            }
            self.agent.push(&p.state, &p.action, r, features, false)?;
            self.rewards.push(r);
            if self.agent.buffer().len() >= self.warmup {
                for _ in 0..self.updates_per_action {
                    self.agent.update()?;
                }
            }
        }
        self.agent.act(features, !self.explore, action)?;
        if self.explore {
            self.pending = Some(Pending {
                state: features.to_vec(),
                action: action.to_vec(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::controller::{ActionRanges, Controller, ControllerObs, RlHook};

    #[test]
    fn reward_is_relative_loss_drop_minus_spend() {
        let r = rldp_reward(0.8, 0.6, 0.1, 0.15, 1.0);
        assert!((r - (0.25 - 0.05)).abs() < 1e-15);
        assert_eq!(rldp_reward(0.0, 0.0, 0.0, 0.0, 1.0), 0.0);
        // No loss observed yet: only the spend term.
        assert!((rldp_reward(0.0, 0.7, 0.0, 0.1, 2.0) + 0.2).abs() < 1e-15);
    }

    #[test]
    fn drives_the_hook_and_learns_online() {
        let mut cfg = SacPolicyConfig::new(1, 7);
        cfg.sac.batch = 4;
        cfg.warmup = 4;
        let pol = SacPolicy::new(cfg).unwrap();
        let r = ActionRanges {
            clip_min: 0.01,
            clip_max: 10.0,
            z_min: 0.5,
            z_max: 5.0,
        };
        let mut hook = RlHook::new(pol, 1, r, 2, None).unwrap();
        for t in 0..40u64 {
            let k = hook.act(t).unwrap();
            assert!(k.clip[0] >= 0.01 && k.clip[0] <= 10.0);
            hook.observe(&ControllerObs {
                step: t,
                total_steps: 40,
                noisy_grad_norm: 0.5,
                public_loss: Some(1.0 / (1.0 + t as f64)),
                eps_spent: 0.01 * t as f64,
                eps_target: 1.0,
                raw: None,
            })
            .unwrap();
        }
        let p = hook.policy_mut();
        // 20 actions -> 19 transitions; updates start at 4 transitions, 2 per action.
        assert_eq!(p.rewards().len(), 19);
        assert_eq!(p.updates(), 2 * 16);
        assert!(p.last_losses().alpha > 0.0);
        let mut a = [0.0; 2];
        assert!(p.action(&[0.0; 3], &mut a).is_err());
        assert!(p.action(&[0.0, 0.0, f64::NAN, 0.0], &mut a).is_err());
    }
}
