//! DP-SGD: per-sample clipping, Gaussian noise, Poisson sampling, the privacy engine and the
//! clipping/noise controllers (fixed, adaptive quantile, RLDP hook), with the budget guard.
//!
//! Everything works without an allocator except the MLP ghost-clipping step ([`mlp_dp_gradient`])
//! and the SAC hyper-policy ([`sac`]).
//!
//! | item | what |
//! |---|---|
//! | [`clip_and_sum`], [`clip_and_sum_groups`] | per-sample clipping (flat / per group), NaN policy |
//! | [`dp_sgd_step`], [`dp_sgd_step_groups`] | one DP-SGD step on slices (Abadi et al. 2016) |
//! | [`dp_sgd_step_backend`] | the same on a [`crate::Backend`] (`clip_rows_and_sum`, `add_normal`) |
//! | [`linear_sq_norms`], [`mlp_dp_step`], [`mlp_dp_gradient`] | ghost norms / clipped sums of dense layers (one backward pass) |
//! | [`Sampling`], [`poisson_sample`], [`fixed_size_sample`] | batch sampling, told to the accountant |
//! | [`PrivacyEngine`] | sampling + step + ledger, refuses to overspend |
//! | [`effective_noise_multiplier`] | heteroscedastic per-group noise -> ledger z |
//! | [`Controller`], [`Fixed`], [`QuantileAdaptiveClip`], [`RlHook`] | knob controllers (RLDP, Andrew et al. 2021) |
//! | [`BudgetGuard`] | keeps any controller within (epsilon, delta) |
//! | [`SacPolicy`], [`Sac`] | RLDP's learned controller: soft actor-critic hyper-policy (Haarnoja et al. 2018) |

pub mod adaptive;
pub mod backend_step;
pub mod clip;
pub mod controller;
pub mod dpsgd;
pub mod engine;
pub mod ghost;
pub mod groups;
pub mod guard;
#[cfg(feature = "alloc")]
pub mod sac;
pub mod sampling;

pub use adaptive::{gradient_noise_for_total, AdaptiveConfig, QuantileAdaptiveClip};
pub use backend_step::dp_sgd_step_backend;
pub use clip::{clip_and_sum, clip_and_sum_groups, clip_factor, ClipStats, NanPolicy, MAX_GROUPS};
pub use controller::{
    Accounting, ActionRanges, Controller, ControllerObs, Fixed, Knobs, Policy, RawStats, RlHook,
};
pub use dpsgd::{dp_sgd_step, dp_sgd_step_groups};
pub use engine::PrivacyEngine;
pub use ghost::linear_sq_norms;
#[cfg(feature = "alloc")]
pub use ghost::{mlp_dp_gradient, mlp_dp_step, mlp_ghost_sq_norms, GhostWorkspace};
pub use groups::effective_noise_multiplier;
pub use guard::BudgetGuard;
#[cfg(feature = "alloc")]
pub use sac::{Sac, SacConfig, SacPolicy, SacPolicyConfig};
pub use sampling::{fixed_size_sample, poisson_sample, Sampling};
