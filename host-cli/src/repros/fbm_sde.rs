//! Repro `fbm-sde` (spec 08): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `fbm-sde` reproduction.
pub struct FbmSde;

impl Repro for FbmSde {
    fn name(&self) -> &'static str {
        "fbm-sde"
    }
    fn spec(&self) -> &'static str {
        "08"
    }
    fn title(&self) -> &'static str {
        "Markov-approximate fBM: covariance error vs K, Hurst recovery and an ELBO fit"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro fbm-sde is not implemented yet")
    }
}
