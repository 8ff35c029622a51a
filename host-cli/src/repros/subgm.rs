//! Repro `subgm` (spec 19): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `subgm` reproduction.
pub struct Subgm;

impl Repro for Subgm {
    fn name(&self) -> &'static str {
        "subgm"
    }
    fn spec(&self) -> &'static str {
        "19"
    }
    fn title(&self) -> &'static str {
        "Sub-gradient l1 matrix recovery from small initialisation is robust to outliers"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro subgm is not implemented yet")
    }
}
