//! Subcommands other than `repro`.

pub mod dp;
pub mod fixtures;
