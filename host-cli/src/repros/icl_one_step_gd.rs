//! Repro `icl-one-step-gd` (spec 01): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `icl-one-step-gd` reproduction.
pub struct IclOneStepGd;

impl Repro for IclOneStepGd {
    fn name(&self) -> &'static str {
        "icl-one-step-gd"
    }
    fn spec(&self) -> &'static str {
        "01"
    }
    fn title(&self) -> &'static str {
        "One layer of linear self-attention trained on linear regression implements one step of (preconditioned) GD"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro icl-one-step-gd is not implemented yet")
    }
}
