//! `noisekit dp epsilon|sigma`: the RDP accountant as a calculator.

use anyhow::{bail, Result};
use clap::Subcommand;

/// Accountant calculator commands.
#[derive(Debug, Subcommand)]
pub enum DpCommand {
    /// Epsilon spent by `steps` Poisson-subsampled Gaussian steps.
    Epsilon {
        /// Sampling rate q in (0, 1].
        #[arg(long)]
        q: f64,
        /// Noise multiplier sigma >= 0.
        #[arg(long)]
        sigma: f64,
        /// Number of steps.
        #[arg(long)]
        steps: u64,
        /// Target delta in (0, 1).
        #[arg(long)]
        delta: f64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The smallest sigma reaching a target epsilon.
    Sigma {
        /// Sampling rate q in (0, 1].
        #[arg(long)]
        q: f64,
        /// Number of steps.
        #[arg(long)]
        steps: u64,
        /// Target delta in (0, 1).
        #[arg(long)]
        delta: f64,
        /// Target epsilon > 0.
        #[arg(long)]
        epsilon: f64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `dp` subcommand.
pub fn run(cmd: &DpCommand) -> Result<()> {
    bail!("noisekit dp is not implemented yet ({cmd:?})")
}
