//! Repro `sso` (spec 21): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `sso` reproduction.
pub struct Sso;

impl Repro for Sso {
    fn name(&self) -> &'static str {
        "sso"
    }
    fn spec(&self) -> &'static str {
        "21"
    }
    fn title(&self) -> &'static str {
        "Target-based surrogates reduce loss per expensive gradient evaluation vs SGD"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro sso is not implemented yet")
    }
}
