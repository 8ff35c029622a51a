//! `noisekit dp epsilon|sigma`: the RDP accountant as a calculator.

use anyhow::{bail, Result};
use clap::Subcommand;
use noisekit::accounting::{
    epsilon_for, epsilon_for_with, noise_for_target, Conversion, DP_ACCOUNTING_ORDERS,
};

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

/// Warns on stderr when the optimum sits at an end of the order grid (the grid is too narrow).
fn warn_edge(order: f64) {
    let grid = &DP_ACCOUNTING_ORDERS;
    if order == grid[0] || order == grid[grid.len() - 1] {
        eprintln!(
            "warning: the optimal RDP order {order} is at the end of the grid; epsilon may be loose"
        );
    }
}

/// Runs a `dp` subcommand.
pub fn run(cmd: &DpCommand) -> Result<()> {
    let grid = &DP_ACCOUNTING_ORDERS[..];
    match *cmd {
        DpCommand::Epsilon {
            q,
            sigma,
            steps,
            delta,
            json,
        } => {
            if !(delta > 0.0 && delta < 1.0) {
                bail!("invalid delta = {delta}: expected in (0, 1)");
            }
            let imp = epsilon_for(q, sigma, steps, delta, grid)?;
            let cla = epsilon_for_with(q, sigma, steps, delta, grid, Conversion::Classic)?;
            if imp.value > 0.0 && imp.value.is_finite() {
                warn_edge(imp.order);
            }
            if !imp.value.is_finite() {
                eprintln!("warning: epsilon is infinite (sigma = 0 gives no privacy)");
            }
            // JSON has no infinity: infinite values are written as the string "inf".
            let num = |x: f64| {
                if x.is_finite() {
                    serde_json::json!(x)
                } else {
                    serde_json::json!("inf")
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "epsilon": num(imp.value),
                        "order": imp.order,
                        "conversion": "improved (Balle et al. 2020)",
                        "epsilon_classic": num(cla.value),
                        "order_classic": cla.order,
                        "q": q, "sigma": sigma, "steps": steps, "delta": delta,
                        "orders": "dp-accounting DEFAULT_RDP_ORDERS (156)",
                    })
                );
            } else {
                println!(
                    "epsilon = {} (optimal order {}, improved conversion of Balle et al. 2020)",
                    imp.value, imp.order
                );
                println!(
                    "classic conversion (Mironov 2017): epsilon = {} (order {})",
                    cla.value, cla.order
                );
            }
        }
        DpCommand::Sigma {
            q,
            steps,
            delta,
            epsilon,
            json,
        } => {
            let sigma = noise_for_target(epsilon, delta, q, steps, grid)?;
            let got = epsilon_for(q, sigma, steps, delta, grid)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "sigma": sigma,
                        "epsilon": got.value,
                        "order": got.order,
                        "q": q, "steps": steps, "delta": delta, "target_epsilon": epsilon,
                    })
                );
            } else {
                println!(
                    "sigma = {sigma} (noise multiplier = noise std / clip norm; gives epsilon {} at order {})",
                    got.value, got.order
                );
            }
        }
    }
    Ok(())
}
