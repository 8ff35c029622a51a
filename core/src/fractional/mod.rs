//! Fractional noise: exact fBM (Cholesky, Davies-Harte), Markov-approximate fBM (MA-fBM) of
//! Daems et al. 2023 (arXiv 2310.12975), SDE solvers driven by it, Hurst estimation.
//!
//! | item | file |
//! |---|---|
//! | radix-2 FFT (`no_std`) | [`fft`] |
//! | incomplete gamma, `Q(a,z) e^z`, `V_H` | [`special`] |
//! | OU speed grid, optimal weights | [`weights`] |
//! | MA-fBM covariance and error vs fBM | [`cov`] |
//! | pivoted Cholesky of PSD matrices | [`psd`] |
//! | exact OU-bank sampler | [`mafbm`] |
//! | exact fBM by Cholesky | [`cholesky`] |
//! | exact fBM by Davies-Harte | [`davies_harte`] |
//! | Hurst estimator | [`hurst`] |
//! | Euler-Maruyama for MA-fBM SDEs, path KL | [`sde`] |
//! | fractional OU evidence (Kalman) | [`fou`] |

pub mod cov;
pub mod fft;
pub mod hurst;
pub mod mafbm;
pub mod psd;
pub mod special;
pub mod weights;

#[cfg(feature = "alloc")]
pub mod cholesky;
#[cfg(feature = "alloc")]
pub mod davies_harte;
#[cfg(feature = "alloc")]
pub mod fou;
#[cfg(feature = "alloc")]
pub mod sde;

pub use weights::{gamma_grid, omega_optimal, Kind, Normalisation, MAX_K};
