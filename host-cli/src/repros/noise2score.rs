//! Repro `noise2score` (spec 10): registered, not implemented yet.

use anyhow::{bail, Result};

use crate::framework::{Ctx, Outcome, Repro, Status};

/// The `noise2score` reproduction.
pub struct Noise2score;

impl Repro for Noise2score {
    fn name(&self) -> &'static str {
        "noise2score"
    }
    fn spec(&self) -> &'static str {
        "10"
    }
    fn title(&self) -> &'static str {
        "Tweedie denoising from a learned score improves PSNR for Gaussian, Poisson and Gamma noise"
    }
    fn status(&self) -> Status {
        Status::Pending
    }
    fn run(&self, _ctx: &Ctx) -> Result<Outcome> {
        bail!("repro noise2score is not implemented yet")
    }
}
