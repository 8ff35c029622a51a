//! Repro `elr` (spec 05): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `elr` reproduction.
pub struct Elr;

impl Repro for Elr {
    fn name(&self) -> &'static str {
        "elr"
    }
    fn spec(&self) -> &'static str {
        "05"
    }
    fn title(&self) -> &'static str {
        "Early-learning regularisation prevents memorising noisy labels (digits, 40% symmetric noise)"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro elr is not implemented yet")
    }
}
