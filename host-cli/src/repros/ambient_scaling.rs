//! Repro `ambient-scaling` (spec 17): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `ambient-scaling` reproduction.
pub struct AmbientScaling;

impl Repro for AmbientScaling {
    fn name(&self) -> &'static str {
        "ambient-scaling"
    }
    fn spec(&self) -> &'static str {
        "17"
    }
    fn title(&self) -> &'static str {
        "10% clean + 90% noisy data approaches all-clean diffusion training"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro ambient-scaling is not implemented yet")
    }
}
