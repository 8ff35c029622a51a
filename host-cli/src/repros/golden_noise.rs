//! Repro `golden-noise` (spec 18): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `golden-noise` reproduction.
pub struct GoldenNoise;

impl Repro for GoldenNoise {
    fn name(&self) -> &'static str {
        "golden-noise"
    }
    fn spec(&self) -> &'static str {
        "18"
    }
    fn title(&self) -> &'static str {
        "Learned golden-noise transforms improve the sampler's guidance metric"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro golden-noise is not implemented yet")
    }
}
