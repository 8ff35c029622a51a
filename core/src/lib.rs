//! # noisekit
//!
//! Noise in learning, in one `no_std` core: the estimators, update rules and samplers of the papers
//! listed below, written once and generic over a [`Backend`](backend::Backend) where the work is heavy.
//!
//! Features: `alloc` (default) adds the [`CpuBackend`](backend::CpuBackend), the models and every
//! method that needs growing buffers; `std` adds `std::error::Error` interop and threaded gemm.
//! Without `alloc`, the update rules on slices, the samplers, the privacy accountant and the Tweedie
//! denoisers remain available.
//!
//! | paper | module |
//! |---|---|
//! | Philox4x32-10 (Salmon et al. 2011) | [`rng`] |
//! | RDP accountant (Mironov et al. 2017/2019), DP-SGD (Abadi et al. 2016), RLDP (2025) | `accounting`, `privacy` |
//! | Annealed gradient noise (Neelakantan et al. 2015), SGD noise regimes, benign oscillation, SGD-SaI | `update`, `dynamics` |
//! | WTA-CRS, BVPO, compositional optimisation for unnormalised models, target surrogates (SSO) | `sampled` |
//! | LSA = one step of GD, ICL learning algorithm | `icl` |
//! | ELR, NMTune, SubGM matrix recovery | `robust` |
//! | NN score estimation, Noise2Score, ambient diffusion scaling, golden noise | `score` |
//! | MA-fBM SDEs; LOTA bit-plane features | `fractional`, `bitplane` |
//! | FedSVD | `federated` |
//!
//! The core never panics on user input: every fallible public function returns
//! [`Result`](error::Result) with an [`Error`](error::Error) naming the parameter and what is allowed.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod accounting;
pub mod backend;
pub mod bitplane;
pub mod dynamics;
pub mod error;
pub mod fractional;
pub mod icl;
pub mod linalg;
pub mod privacy;
pub mod rng;
pub mod robust;
pub mod sampled;
pub mod score;
pub mod update;

#[cfg(feature = "alloc")]
pub mod federated;
#[cfg(feature = "alloc")]
pub mod models;

pub use backend::Backend;
#[cfg(feature = "alloc")]
pub use backend::CpuBackend;
pub use error::{Error, Result};
/// nalgebra, re-exported so hosts use the same version as the core.
pub use nalgebra;
pub use rng::NoiseKey;
