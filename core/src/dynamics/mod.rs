//! Data models of the SGD-dynamics papers and the small slice-only models trained on them (no
//! allocation needed): the feature-noise patch data and two-layer patch CNN of the
//! benign-oscillation paper, the boundary-density perceptron data and hinge-loss perceptron of the
//! SGD-noise-regimes paper.

#[cfg(feature = "alloc")]
pub mod alpha_net;
pub mod feature_noise;
pub mod patch_cnn;
pub mod perceptron;

pub use feature_noise::FeatureNoise;
pub use patch_cnn::{stability_threshold, PatchCnn};
pub use perceptron::BoundaryDensity;
