//! Label noise and robust recovery: label-noise samplers, ELR, NMTune, sub-gradient matrix recovery.
//!
//! | paper | items |
//! |---|---|
//! | ELR (Liu et al. 2020, arXiv 2007.00151) | [`label_noise`], [`elr`] |
//! | NMTune (Chen et al. 2023, arXiv 2309.17002) | `spectrum`, `nmtune`, `residual_mlp` (feature `alloc`) |
//! | SubGM (Ma & Fattahi 2022, arXiv 2202.08788) | [`sensing`], [`subgm`] |

pub mod elr;
pub mod label_noise;
#[cfg(feature = "alloc")]
pub mod nmtune;
#[cfg(feature = "alloc")]
pub mod residual_mlp;
pub mod sensing;
#[cfg(feature = "alloc")]
pub mod spectrum;
pub mod subgm;
