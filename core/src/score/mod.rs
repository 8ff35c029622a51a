//! Scores, denoising and diffusion noise: forward noising, denoising score matching, Tweedie
//! denoisers (Noise2Score), ambient diffusion, golden noise.
//!
//! | paper | items |
//! |---|---|
//! | Han et al. 2024, arXiv 2401.15604 (NN score estimation) | [`noising::ou_forward`], [`dsm`], [`gmm`], [`two_layer`], [`ntk`] |
//! | Kim & Ye 2021, arXiv 2106.07009 (Noise2Score) | [`noising`] corruptions, [`tweedie`], [`prior_score`], [`ardae`], [`metrics`] |
//! | Daras et al. 2024, arXiv 2411.02780 (ambient scaling) | [`ambient`], [`ambient_em`] |
//! | Zhou et al. 2024, arXiv 2411.09502 (golden noise) | [`golden`], [`npnet`] |
//!
//! Everything except the trained models ([`two_layer`], [`ntk::kernel_gd_predict`],
//! [`ardae::RbfScoreModel`], [`ambient_em`], [`npnet`]) works without an allocator.

pub mod ambient;
#[cfg(feature = "alloc")]
pub mod ambient_em;
pub mod ardae;
pub mod dsm;
pub mod gmm;
pub mod golden;
pub mod metrics;
pub mod noising;
#[cfg(feature = "alloc")]
pub mod npnet;
pub mod ntk;
pub mod prior_score;
pub mod special;
pub mod tweedie;
#[cfg(feature = "alloc")]
pub mod two_layer;
