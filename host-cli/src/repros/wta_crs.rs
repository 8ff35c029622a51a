//! Repro `wta-crs` (spec 09): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `wta-crs` reproduction.
pub struct WtaCrs;

impl Repro for WtaCrs {
    fn name(&self) -> &'static str {
        "wta-crs"
    }
    fn spec(&self) -> &'static str {
        "09"
    }
    fn title(&self) -> &'static str {
        "Winner-take-all column-row sampling has lower variance than CRS at the same budget"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro wta-crs is not implemented yet")
    }
}
