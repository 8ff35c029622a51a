//! Repro `gradient-noise` (spec 03): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `gradient-noise` reproduction.
pub struct GradientNoise;

impl Repro for GradientNoise {
    fn name(&self) -> &'static str {
        "gradient-noise"
    }
    fn spec(&self) -> &'static str {
        "03"
    }
    fn title(&self) -> &'static str {
        "Annealed Gaussian gradient noise helps train a 20-layer MLP from a poor initialisation"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro gradient-noise is not implemented yet")
    }
}
