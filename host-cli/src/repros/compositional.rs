//! Repro `compositional` (spec 16): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `compositional` reproduction.
pub struct Compositional;

impl Repro for Compositional {
    fn name(&self) -> &'static str {
        "compositional"
    }
    fn spec(&self) -> &'static str {
        "16"
    }
    fn title(&self) -> &'static str {
        "Compositional optimisation of the log-partition converges where NCE is slow"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro compositional is not implemented yet")
    }
}
