//! Repro `fedsvd` (spec 14): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `fedsvd` reproduction.
pub struct Fedsvd;

impl Repro for Fedsvd {
    fn name(&self) -> &'static str {
        "fedsvd"
    }
    fn spec(&self) -> &'static str {
        "14"
    }
    fn title(&self) -> &'static str {
        "FedSVD re-orthogonalised LoRA beats FFA-LoRA under DP in federated training"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro fedsvd is not implemented yet")
    }
}
