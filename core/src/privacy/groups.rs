//! Effective noise multiplier of a step with per-group (heteroscedastic) Gaussian noise.
//!
//! RLDP (Khadangi et al., "Efficient Differentially Private Fine-Tuning of LLMs via Reinforcement
//! Learning", 2025, arXiv 2507.22565) clips group `k` to `C_k` and adds noise of std
//! `s_k = z_k C_k`. Rescaling group `k` by `1/s_k` gives a Gaussian mechanism with unit noise and
//! L2 sensitivity `sqrt(sum_k (C_k/s_k)^2)`, so the step is a sampled Gaussian mechanism with
//! `z_eff = (sum_k z_k^-2)^(-1/2)` — what the ledger is charged. An additional private release in
//! the same step (e.g. the adaptive-clipping count, noise multiplier `2 sigma_b`) adds its own
//! `z^-2` term. Cost: O(K).

use crate::error::{Error, Result};

/// `z_eff = (sum_k z_k^-2 + sum_j extra_j^-2)^(-1/2)`. Any `z = 0` gives `Ok(0)` (no privacy);
/// negative or non-finite values are errors; an empty list is an error.
pub fn effective_noise_multiplier(noise: &[f64], extra: &[f64]) -> Result<f64> {
    if noise.is_empty() {
        return Err(Error::invalid(
            "noise multipliers",
            0.0,
            "at least one group",
        ));
    }
    let mut inv2 = 0.0;
    for &z in noise.iter().chain(extra) {
        if !(z.is_finite() && z >= 0.0) {
            return Err(Error::invalid(
                "sigma (noise multiplier)",
                z,
                "a finite number >= 0",
            ));
        }
        if z == 0.0 {
            return Ok(0.0);
        }
        inv2 += 1.0 / (z * z);
    }
    Ok(1.0 / libm::sqrt(inv2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_hand_cases() {
        // C = (1, 0.5), s = (1.2, 0.8) -> z_k = s_k / C_k = (1.2, 1.6) -> z_eff = 0.96 exactly.
        let z = effective_noise_multiplier(&[1.2, 1.6], &[]).unwrap();
        assert!((z - 0.96).abs() < 1e-15);
        // K = 4 groups at z = 2 -> 1.0.
        assert!((effective_noise_multiplier(&[2.0; 4], &[]).unwrap() - 1.0).abs() < 1e-15);
        // Adaptive clipping: z_Delta and 2 sigma_b recombine to z.
        let z = effective_noise_multiplier(&[0.8678519450036432], &[10.0]).unwrap();
        assert!((z - 0.8646021038506408).abs() < 1e-12);
        assert_eq!(effective_noise_multiplier(&[1.0, 0.0], &[]).unwrap(), 0.0);
        assert!(effective_noise_multiplier(&[], &[]).is_err());
        assert!(effective_noise_multiplier(&[-1.0], &[]).is_err());
    }
}
