//! Repro `icl-algorithms` (spec 12): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `icl-algorithms` reproduction.
pub struct IclAlgorithms;

impl Repro for IclAlgorithms {
    fn name(&self) -> &'static str {
        "icl-algorithms"
    }
    fn spec(&self) -> &'static str {
        "12"
    }
    fn title(&self) -> &'static str {
        "Trained in-context learners match ridge/OLS/GD predictors depending on the noise level"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro icl-algorithms is not implemented yet")
    }
}
