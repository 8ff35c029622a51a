//! Repro `lota` (spec 20): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `lota` reproduction.
pub struct Lota;

impl Repro for Lota {
    fn name(&self) -> &'static str {
        "lota"
    }
    fn spec(&self) -> &'static str {
        "20"
    }
    fn title(&self) -> &'static str {
        "Bit-plane noise features separate real from generated images"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro lota is not implemented yet")
    }
}
