//! Sampled and mixed gradient estimators: WTA-CRS, BVPO, compositional optimisation (SCO) and NCE,
//! target-based surrogates (SSO).
//!
//! | paper | items |
//! |---|---|
//! | WTA-CRS (Liu et al. 2023, arXiv 2305.15265) | [`crs`]: probabilities, plans, exact variances, [`crs::sampled_matmul`]; `linear`: a linear layer with a sampled weight gradient (alloc) |
//! | BVPO (Zhu et al. 2025, arXiv 2510.05095) | [`bvpo`]: DPO loss/gradient, mixture, MSE-optimal weight, plug-in weight; `latent_trace`: the synthetic trace model (alloc) |
//! | SCO for unnormalised models (Jiang et al. 2023, arXiv 2306.07485) | [`compositional`]: moving-average log-partition step, NCE loss and gradient |
//! | Target-based surrogates (Lavington et al. 2023, arXiv 2302.02607) | [`sso`]: target surrogate, its gradient, inner GD for linear models |

pub mod bvpo;
pub mod compositional;
pub mod crs;
#[cfg(feature = "alloc")]
pub mod latent_trace;
#[cfg(feature = "alloc")]
pub mod linear;
pub mod sso;
