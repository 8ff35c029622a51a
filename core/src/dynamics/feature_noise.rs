//! The feature-noise patch data of the benign-oscillation paper.
//!
//! Paper: Lu, Wu, Yang, Zou, "Benign Oscillation of Stochastic Gradient Descent with Large
//! Learning Rates", 2023, arXiv:2310.17074 (ICLR 2024). Constants are spec 06's reconstruction.
//!
//! ```text
//! y ~ U{-1, +1};  v = |v| e_1 (weak),  u = |u| e_2 (strong)
//! patch 1: y v                               (every example)
//! patch 2: y u with probability rho, else 0  (rho = 0: the weak-only test distribution)
//! patch 3: xi ~ N(0, sigma_p^2 (I - e_1 e_1^T - e_2 e_2^T))
//! ```
//! `E||x||^2 = |v|^2 + rho |u|^2 + sigma_p^2 (d - 2)`. An example is `3 d` floats
//! `[patch 1, patch 2, patch 3]`. Cost: `d - 2` normals and two uniforms per example; no allocation
//! (the caller's buffers are filled).

use rand_core::Rng;

use crate::error::{check, Error, Result};
use crate::rng::seq;

/// Parameters of the generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureNoise {
    /// Patch dimension `d >= 3`.
    pub d: usize,
    /// Weak-feature norm `|v| >= 0`.
    pub v_norm: f32,
    /// Strong-feature norm `|u| >= 0`.
    pub u_norm: f32,
    /// Probability of the strong feature, in `[0, 1]`.
    pub rho: f64,
    /// Noise standard deviation `sigma_p >= 0`.
    pub sigma_p: f32,
}

impl Default for FeatureNoise {
    /// Spec 06 defaults: `d = 50, |v| = 0.5, |u| = 4, rho = 0.8, sigma_p = 0.5`.
    fn default() -> Self {
        Self {
            d: 50,
            v_norm: 0.5,
            u_norm: 4.0,
            rho: 0.8,
            sigma_p: 0.5,
        }
    }
}

impl FeatureNoise {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.d < 3 {
            return Err(Error::invalid(
                "d",
                self.d as f64,
                "at least 3 (two feature coordinates and noise)",
            ));
        }
        check::non_negative("v_norm", self.v_norm as f64)?;
        check::non_negative("u_norm", self.u_norm as f64)?;
        check::closed("rho", self.rho, 0.0, 1.0, "in [0, 1]")?;
        check::non_negative("sigma_p", self.sigma_p as f64)
    }

    /// The same generator without the strong feature (`rho = 0`): the weak-only test data.
    pub fn weak_only(self) -> Self {
        Self { rho: 0.0, ..self }
    }

    /// Fills `x` (`n x 3d`) and `y` (`n`, values +-1) with `n = y.len()` examples.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, x: &mut [f32], y: &mut [f32]) -> Result<()> {
        self.validate()?;
        let d = self.d;
        check::same_len("feature-noise x", y.len() * 3 * d, x.len())?;
        for (ex, yi) in x.chunks_exact_mut(3 * d).zip(y.iter_mut()) {
            let label: f32 = if seq::bernoulli(rng, 0.5)? { 1.0 } else { -1.0 };
            *yi = label;
            let strong = seq::bernoulli(rng, self.rho)?;
            ex.fill(0.0);
            ex[0] = label * self.v_norm;
            if strong {
                ex[d + 1] = label * self.u_norm;
            }
            seq::fill_gaussian_f32(rng, self.sigma_p, &mut ex[2 * d + 2..3 * d])?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn invariants_and_moments() {
        let g = FeatureNoise::default();
        let n = 200_000;
        let d = g.d;
        for (gen, want_norm, tol) in [(g, 25.05, 0.1), (g.weak_only(), 12.25, 0.05)] {
            let mut x = vec![0f32; n * 3 * d];
            let mut y = vec![0f32; n];
            gen.sample(&mut seq::default_rng(3), &mut x, &mut y)
                .unwrap();
            let mut strong = 0usize;
            let mut norm2 = 0f64;
            for (ex, &yi) in x.chunks_exact(3 * d).zip(&y) {
                assert_eq!(yi * ex[0], gen.v_norm);
                assert_eq!((ex[2 * d], ex[2 * d + 1]), (0.0, 0.0));
                if ex[d + 1] != 0.0 {
                    strong += 1;
                    assert_eq!(yi * ex[d + 1], gen.u_norm);
                }
                norm2 += ex.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
            }
            let frac = strong as f64 / n as f64;
            let r = gen.rho;
            assert!(
                (frac - r).abs() <= 5.0 * (r * (1.0 - r) / n as f64).sqrt() + 1e-12,
                "{frac}"
            );
            let my = y.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            assert!(my.abs() < 5.0 / (n as f64).sqrt());
            assert!(
                (norm2 / n as f64 - want_norm).abs() < tol,
                "{}",
                norm2 / n as f64
            );
        }
    }

    #[test]
    fn bad_parameters() {
        let g = FeatureNoise::default();
        let mut x = vec![0f32; 3 * 50];
        let mut y = vec![0f32; 1];
        let r = &mut seq::default_rng(0);
        assert!(matches!(
            FeatureNoise { d: 2, ..g }.sample(r, &mut [0.0; 6], &mut [0.0]),
            Err(Error::InvalidParam { name: "d", .. })
        ));
        assert!(matches!(
            FeatureNoise { rho: 1.5, ..g }.sample(r, &mut x, &mut y),
            Err(Error::InvalidParam { name: "rho", .. })
        ));
        assert!(matches!(
            FeatureNoise { sigma_p: -1.0, ..g }.sample(r, &mut x, &mut y),
            Err(Error::InvalidParam {
                name: "sigma_p",
                ..
            })
        ));
        assert!(matches!(
            g.sample(r, &mut x[..10], &mut y),
            Err(Error::ShapeMismatch { .. })
        ));
        g.sample(r, &mut [], &mut []).unwrap();
    }
}
