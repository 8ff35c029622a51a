//! Randomness: counter-based Philox for bulk, backend-parallel noise ([`philox`], [`bulk`]), and
//! sequential samplers over any `rand_core::Rng` ([`seq`]); statistics helpers for testing them
//! ([`stats`]).

pub mod bulk;
pub mod fastmath;
pub mod philox;
pub mod seq;
pub mod stats;

pub use philox::{philox4x32_10, NoiseKey, PhiloxRng};
pub use seq::{default_rng, DefaultRng};
