//! Repro `benign-oscillation` (spec 06): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `benign-oscillation` reproduction.
pub struct BenignOscillation;

impl Repro for BenignOscillation {
    fn name(&self) -> &'static str {
        "benign-oscillation"
    }
    fn spec(&self) -> &'static str {
        "06"
    }
    fn title(&self) -> &'static str {
        "Large-learning-rate SGD oscillation learns weak features that small-lr training misses"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro benign-oscillation is not implemented yet")
    }
}
