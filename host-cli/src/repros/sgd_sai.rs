//! Repro `sgd-sai` (spec 13): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `sgd-sai` reproduction.
pub struct SgdSai;

impl Repro for SgdSai {
    fn name(&self) -> &'static str {
        "sgd-sai"
    }
    fn spec(&self) -> &'static str {
        "13"
    }
    fn title(&self) -> &'static str {
        "SGD-SaI matches AdamW with half the optimizer-state memory"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro sgd-sai is not implemented yet")
    }
}
