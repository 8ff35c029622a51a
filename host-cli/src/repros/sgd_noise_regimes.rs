//! Repro `sgd-noise-regimes` (spec 04): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `sgd-noise-regimes` reproduction.
pub struct SgdNoiseRegimes;

impl Repro for SgdNoiseRegimes {
    fn name(&self) -> &'static str {
        "sgd-noise-regimes"
    }
    fn spec(&self) -> &'static str {
        "04"
    }
    fn title(&self) -> &'static str {
        "SGD noise temperature T = lr/B: phase diagram and the power law of T_c in the training-set size"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro sgd-noise-regimes is not implemented yet")
    }
}
