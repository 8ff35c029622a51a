//! Repro `score-estimation` (spec 07): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `score-estimation` reproduction.
pub struct ScoreEstimation;

impl Repro for ScoreEstimation {
    fn name(&self) -> &'static str {
        "score-estimation"
    }
    fn spec(&self) -> &'static str {
        "07"
    }
    fn title(&self) -> &'static str {
        "Score-network error against the closed-form mixture score has an early-stopping optimum"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro score-estimation is not implemented yet")
    }
}
