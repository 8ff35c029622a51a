//! Repro `nmtune` (spec 15): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `nmtune` reproduction.
pub struct Nmtune;

impl Repro for Nmtune {
    fn name(&self) -> &'static str {
        "nmtune"
    }
    fn spec(&self) -> &'static str {
        "15"
    }
    fn title(&self) -> &'static str {
        "NMTune's feature transform improves a linear probe on noisy pre-trained features, in and out of domain"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro nmtune is not implemented yet")
    }
}
