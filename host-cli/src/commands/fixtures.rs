//! `noisekit fixtures check|bless`.

use anyhow::{bail, Result};
use clap::Subcommand;

use crate::golden;

/// Fixture commands.
#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Recompute every golden case and compare with `fixtures/golden/`.
    Check,
    /// Rewrite `fixtures/golden/` from the current code (review the diff!).
    Bless,
}

/// Runs a `fixtures` subcommand.
pub fn run(cmd: &FixturesCommand) -> Result<()> {
    let dir = golden::fixtures_dir();
    match cmd {
        FixturesCommand::Check => {
            let failures = golden::check(&dir)?;
            if failures.is_empty() {
                println!("fixtures: {} golden cases match", golden::all().len());
                Ok(())
            } else {
                for f in &failures {
                    eprintln!("golden mismatch: {f}");
                }
                bail!("{} golden case(s) differ", failures.len())
            }
        }
        FixturesCommand::Bless => {
            let n = golden::bless(&dir)?;
            println!(
                "fixtures: wrote {n} golden files to {}",
                dir.join("golden").display()
            );
            Ok(())
        }
    }
}
