//! Repro `dp-accounting` (spec dp-accounting): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `dp-accounting` reproduction.
pub struct DpAccounting;

impl Repro for DpAccounting {
    fn name(&self) -> &'static str {
        "dp-accounting"
    }
    fn spec(&self) -> &'static str {
        "dp-accounting"
    }
    fn title(&self) -> &'static str {
        "RDP accountant of the Poisson-subsampled Gaussian matches dp-accounting; inverse sigma; Monte-Carlo delta check"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro dp-accounting is not implemented yet")
    }
}
