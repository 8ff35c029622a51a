//! Repro `rldp` (spec 11): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `rldp` reproduction.
pub struct Rldp;

impl Repro for Rldp {
    fn name(&self) -> &'static str {
        "rldp"
    }
    fn spec(&self) -> &'static str {
        "11"
    }
    fn title(&self) -> &'static str {
        "A learned (RL) clipping/noise controller reaches the fixed controller's utility with fewer updates"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro rldp is not implemented yet")
    }
}
