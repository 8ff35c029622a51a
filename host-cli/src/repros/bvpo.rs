//! Repro `bvpo` (spec 02): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `bvpo` reproduction.
pub struct Bvpo;

impl Repro for Bvpo {
    fn name(&self) -> &'static str {
        "bvpo"
    }
    fn spec(&self) -> &'static str {
        "02"
    }
    fn title(&self) -> &'static str {
        "Mixing trace and empty-trace gradient estimators with the MSE-optimal weight minimises gradient MSE"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro bvpo is not implemented yet")
    }
}
