//! Update rules on slices and through the Backend: SGD(M), AdamW, SGD-SaI, annealed gradient noise,
//! gradient clipping, the non-finite-gradient policy and parameter groups.
//!
//! The element-wise rules themselves are [`crate::backend::UpdateRule`] and
//! [`crate::backend::apply_update`] (one fused pass, shared with every backend). This module adds the
//! pieces around them: the annealed noise schedule ([`annealed_noise`]), global-norm clipping
//! ([`clip`]), the g-SNR of SGD-SaI ([`gsnr`]), the NaN/Inf policy ([`nonfinite`]), a threaded
//! driver ([`parallel`], `std`) and, with `alloc`, the [`optimizer::Optimizer`] object that owns
//! state buffers for parameter groups.

pub mod annealed_noise;
pub mod clip;
pub mod gsnr;
pub mod nonfinite;
#[cfg(feature = "alloc")]
pub mod optimizer;
#[cfg(feature = "std")]
pub mod parallel;

pub use annealed_noise::{AnnealedGaussian, NoiseOrder};
pub use clip::{clip_by_global_norm, global_norm};
pub use gsnr::{gsnr_block, GsnrPolicy};
pub use nonfinite::NonFinitePolicy;
#[cfg(feature = "alloc")]
pub use optimizer::{
    split_tensors_mut, GroupConfig, Optimizer, OptimizerConfig, ParamGroup, Rule, StepReport,
};
#[cfg(feature = "std")]
pub use parallel::apply_update_threads;
