//! Privacy accounting: RDP of the Poisson-subsampled Gaussian mechanism and conversions to
//! (epsilon, delta). No allocation needed.
//!
//! | item | what |
//! |---|---|
//! | [`sgm_rdp`] | RDP of one subsampled-Gaussian step at one order (exact integer and signed fractional series) |
//! | [`RdpLedger`] | append-only composition of steps with varying `(q, z)` |
//! | [`epsilon_from_rdp`], [`delta_from_rdp`] | classic (Mironov 2017) and improved (Balle et al. 2020) conversions |
//! | [`DP_ACCOUNTING_ORDERS`], [`OPACUS_ORDERS`] | default order grids |
//! | [`noise_for_target`], [`noise_for_target_opacus`], [`steps_for_target`], [`epsilon_for`] | inverse solvers |

pub mod convert;
pub mod inverse;
pub mod ledger;
pub mod logmath;
pub mod orders;
pub mod sgm;

pub use convert::{delta_from_rdp, epsilon_from_rdp, Conversion, Guarantee};
pub use inverse::{
    epsilon_for, epsilon_for_with, noise_for_target, noise_for_target_opacus, steps_for_target,
};
pub use ledger::{sgm_curve, RdpLedger, Segment, MAX_ORDERS};
pub use orders::{DP_ACCOUNTING_ORDERS, OPACUS_ORDERS};
pub use sgm::sgm_rdp;
