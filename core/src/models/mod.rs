//! Small models with hand-written forward and backward passes for the reproductions.
//!
//! Parameters live in one flat `Vec<f32>` per model so any update rule runs over them in one pass;
//! gemm goes through the CPU gemm ([`crate::backend::gemm_slices`]).

pub mod loss;
pub mod mlp;

pub use loss::{accuracy, mse, softmax_cross_entropy};
pub use mlp::{Activation, Init, LayerShape, Mlp, MlpCache};

/// The slice-only models of the SGD-dynamics papers (they live in [`crate::dynamics`] so they work
/// without an allocator).
pub use crate::dynamics::patch_cnn::PatchCnn;
