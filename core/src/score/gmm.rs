//! Closed-form score and posterior mean of an isotropic Gaussian mixture under the unit OU process.
//!
//! Paper: Han, Razaviyayn & Xu (2024, arXiv 2401.15604), spec 07 item 6 (the oracle for the score
//! error). Data `X0 ~ sum_k w_k N(mu_k, s0^2 I_d)`; under OU `p_t = sum_k w_k N(alpha_t mu_k, v_t I)`,
//! `v_t = alpha_t^2 s0^2 + sigma_t^2`. Responsibilities
//! `r_k(x) = softmax_k(log w_k - |x - alpha_t mu_k|^2 / (2 v_t))` (log-sum-exp),
//! `score(x, t) = sum_k r_k (alpha_t mu_k - x) / v_t`,
//! `E[X0 | X_t = x] = sum_k r_k (mu_k + alpha_t s0^2 / v_t (x - alpha_t mu_k))`,
//! and Tweedie: `score = (alpha_t E[X0|x] - x) / sigma_t^2`.
//! Cost O(K d) per point, two passes over the components; no allocation.

use crate::error::{check, Error, Result};
use crate::score::noising::ou_coefficients;

/// An isotropic Gaussian mixture in `R^d` (borrowed means `[K, d]` row-major and weights `[K]`).
#[derive(Debug, Clone, Copy)]
pub struct Gmm<'a> {
    means: &'a [f64],
    weights: &'a [f64],
    dim: usize,
    s0: f64,
}

impl<'a> Gmm<'a> {
    /// Validates: `K >= 1`, `means.len() == K d`, weights `>= 0` summing to 1 (tol 1e-9), `s0 > 0`.
    pub fn new(means: &'a [f64], weights: &'a [f64], s0: f64) -> Result<Self> {
        check::positive("s0", s0)?;
        check::nonzero("components", weights.len())?;
        if means.is_empty() || !means.len().is_multiple_of(weights.len()) {
            return Err(Error::len_mismatch(
                "gmm means (K*d)",
                weights.len(),
                means.len(),
            ));
        }
        check::all_finite_f64("gmm means", means)?;
        let mut sum = 0.0;
        for &w in weights {
            check::non_negative("weights", w)?;
            sum += w;
        }
        if (sum - 1.0).abs() > 1e-9 {
            return Err(Error::invalid(
                "weights (sum)",
                sum,
                "summing to 1 (tol 1e-9)",
            ));
        }
        Ok(Self {
            means,
            weights,
            dim: means.len() / weights.len(),
            s0,
        })
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components `K`.
    pub fn components(&self) -> usize {
        self.weights.len()
    }

    fn logit(&self, k: usize, x: &[f64], a: f64, v: f64) -> f64 {
        let mu = &self.means[k * self.dim..(k + 1) * self.dim];
        let d2: f64 = x
            .iter()
            .zip(mu)
            .map(|(&xi, &m)| (xi - a * m) * (xi - a * m))
            .sum();
        libm::log(self.weights[k]) - d2 / (2.0 * v)
    }

    /// Score `grad log p_t(x)` into `score` and posterior mean `E[X0 | X_t = x]` into `mean`.
    /// `t >= 0` (at `t = 0` the score is that of the data mixture itself).
    pub fn score_and_mean(
        &self,
        x: &[f64],
        t: f64,
        score: &mut [f64],
        mean: &mut [f64],
    ) -> Result<()> {
        check::same_len("gmm x", self.dim, x.len())?;
        check::same_len("gmm score", self.dim, score.len())?;
        check::same_len("gmm mean", self.dim, mean.len())?;
        check::all_finite_f64("x", x)?;
        let (a, s2) = ou_coefficients(t)?;
        let v = a * a * self.s0 * self.s0 + s2;
        let k = self.components();
        let mx = (0..k)
            .map(|j| self.logit(j, x, a, v))
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..k).map(|j| libm::exp(self.logit(j, x, a, v) - mx)).sum();
        score.iter_mut().for_each(|s| *s = 0.0);
        mean.iter_mut().for_each(|m| *m = 0.0);
        let g = a * self.s0 * self.s0 / v;
        for j in 0..k {
            let r = libm::exp(self.logit(j, x, a, v) - mx) / z;
            if r == 0.0 {
                continue;
            }
            let mu = &self.means[j * self.dim..(j + 1) * self.dim];
            for (((s, m), &xi), &mj) in score.iter_mut().zip(mean.iter_mut()).zip(x).zip(mu) {
                *s += r * (a * mj - xi) / v;
                *m += r * (mj + g * (xi - a * mj));
            }
        }
        Ok(())
    }

    /// Responsibilities `r_k(x)` at time `t` into `out` (`[K]`).
    pub fn responsibilities(&self, x: &[f64], t: f64, out: &mut [f64]) -> Result<()> {
        check::same_len("gmm x", self.dim, x.len())?;
        check::same_len("gmm responsibilities", self.components(), out.len())?;
        let (a, s2) = ou_coefficients(t)?;
        let v = a * a * self.s0 * self.s0 + s2;
        for (j, o) in out.iter_mut().enumerate() {
            *o = self.logit(j, x, a, v);
        }
        let mx = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut z = 0.0;
        for o in out.iter_mut() {
            *o = libm::exp(*o - mx);
            z += *o;
        }
        out.iter_mut().for_each(|o| *o /= z);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    fn g() -> Gmm<'static> {
        Gmm::new(&[-2.0, 2.0], &[0.5, 0.5], 0.5).unwrap()
    }

    fn at(x: f64, t: f64) -> (f64, f64) {
        let (mut s, mut m) = ([0.0], [0.0]);
        g().score_and_mean(&[x], t, &mut s, &mut m).unwrap();
        (s[0], m[0])
    }

    #[test]
    fn golden_case_2() {
        let (s, m) = at(1.0, 0.5);
        assert!((s - 0.1807419782).abs() < 1e-9 && (m - 1.8370888635).abs() < 1e-9);
        let mut r = [0.0; 2];
        g().responsibilities(&[1.0], 0.5, &mut r).unwrap();
        assert!((r[0] - 0.0338761872).abs() < 1e-9);
        let (s, m) = at(0.0, 0.5);
        assert!(s.abs() < 1e-15 && m.abs() < 1e-15);
        let (s, m) = at(-0.3, 1.0);
        assert!((s - 0.1366744617).abs() < 1e-9 && (m + 0.4942445676).abs() < 1e-9);
        let (s, m) = at(3.0, 0.1);
        assert!((s + 3.0841279843).abs() < 1e-9 && (m - 2.6976586006).abs() < 1e-9);
    }

    #[test]
    fn tweedie_consistency() {
        for &(x, t) in &[(1.0, 0.5), (-3.3, 0.05), (0.7, 2.0), (10.0, 0.3)] {
            let (s, m) = at(x, t);
            let (a, s2) = ou_coefficients(t).unwrap();
            assert!(
                (s - (a * m - x) / s2).abs() < 1e-12 * s.abs().max(1.0),
                "{x} {t}"
            );
        }
        // 2-D, 3 components.
        let gm = Gmm::new(&[0.0, 1.0, -1.0, 2.0, 3.0, -2.0], &[0.2, 0.3, 0.5], 0.7).unwrap();
        let (mut s, mut m) = ([0.0; 2], [0.0; 2]);
        gm.score_and_mean(&[0.4, -0.9], 0.8, &mut s, &mut m)
            .unwrap();
        let (a, s2) = ou_coefficients(0.8).unwrap();
        for i in 0..2 {
            assert!((s[i] - (a * m[i] - [0.4, -0.9][i]) / s2).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            Gmm::new(&[0.0], &[1.0], 0.0),
            Err(Error::InvalidParam { name: "s0", .. })
        ));
        assert!(matches!(
            Gmm::new(&[0.0, 1.0], &[0.5, 0.6], 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            Gmm::new(&[0.0, 1.0, 2.0], &[0.5, 0.5], 1.0),
            Err(Error::ShapeMismatch { .. })
        ));
        let (mut s, mut m) = ([0.0], [0.0]);
        assert!(g().score_and_mean(&[0.0], -1.0, &mut s, &mut m).is_err());
    }
}
