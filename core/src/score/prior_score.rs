//! Exact score of the noisy-pixel density when the clean pixel prior is a discrete set of grey
//! levels `v_l` with weights `w_l` (the oracle of the Noise2Score reproduction, spec 10 item 4c).
//!
//! Paper: Kim & Ye, "Noise2Score" (2021, arXiv 2106.07009). Responsibilities by log-sum-exp:
//! * Gaussian: `r_l ∝ w_l exp(-(y - v_l)^2 / (2 sigma^2))`, `s(y) = sum_l r_l (v_l - y) / sigma^2`.
//! * Poisson (counts `n = y / zeta`, `lambda_l = v_l / zeta`, continuous in `n`):
//!   `r_l ∝ w_l lambda_l^n exp(-lambda_l)`, `s_n = sum_l r_l (ln lambda_l - psi(n + 1))`,
//!   `s_y = s_n / zeta`.
//! * Gamma: `r_l ∝ w_l exp(-k y / v_l) (k / v_l)^k`, `s(y) = (k - 1)/y - sum_l r_l k / v_l`.
//!
//! Cost O(L) per pixel (two passes); no allocation.

use crate::error::{check, Error, Result};
use crate::score::special::digamma;
use crate::score::tweedie::NoiseModel;

/// A discrete pixel prior: levels and weights (borrowed).
#[derive(Debug, Clone, Copy)]
pub struct LevelPrior<'a> {
    levels: &'a [f64],
    weights: &'a [f64],
}

impl<'a> LevelPrior<'a> {
    /// Levels must be `> 0` (Poisson/Gamma need positive intensities), weights `>= 0` with positive sum.
    pub fn new(levels: &'a [f64], weights: &'a [f64]) -> Result<Self> {
        check::nonzero("levels", levels.len())?;
        check::same_len("prior weights", levels.len(), weights.len())?;
        for &v in levels {
            check::positive("level", v)?;
        }
        let mut sum = 0.0;
        for &w in weights {
            check::non_negative("weight", w)?;
            sum += w;
        }
        if sum <= 0.0 {
            return Err(Error::invalid("weights (sum)", sum, "> 0"));
        }
        Ok(Self { levels, weights })
    }

    fn logit(&self, l: usize, y: f64, model: NoiseModel) -> f64 {
        let (v, w) = (self.levels[l], self.weights[l]);
        let lw = libm::log(w);
        match model {
            NoiseModel::Gaussian(s) => lw - (y - v) * (y - v) / (2.0 * s * s),
            NoiseModel::Poisson(z) => {
                let lam = v / z;
                lw + (y / z) * libm::log(lam) - lam
            }
            NoiseModel::Gamma(k) => lw - k * y / v + k * libm::log(k / v),
        }
    }

    /// Responsibilities of each level given `y`, into `out` (`[L]`).
    pub fn responsibilities(&self, y: f64, model: NoiseModel, out: &mut [f64]) -> Result<()> {
        check::same_len("responsibilities", self.levels.len(), out.len())?;
        check_model(model)?;
        check::finite("y", y)?;
        for (l, o) in out.iter_mut().enumerate() {
            *o = self.logit(l, y, model);
        }
        let mx = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = out.iter().map(|&o| libm::exp(o - mx)).sum();
        out.iter_mut().for_each(|o| *o = libm::exp(*o - mx) / z);
        Ok(())
    }

    /// The score `d/dy log p(y)` of the noisy pixel density (w.r.t. `y`, not counts).
    /// Poisson and Gamma need `y >= 0`; Gamma at `y = 0` has an infinite score (returns `+inf`).
    pub fn score(&self, y: f64, model: NoiseModel) -> Result<f64> {
        check_model(model)?;
        check::finite("y", y)?;
        if !matches!(model, NoiseModel::Gaussian(_)) {
            check::non_negative("y", y)?;
        }
        let nl = self.levels.len();
        let mx = (0..nl)
            .map(|l| self.logit(l, y, model))
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..nl)
            .map(|l| libm::exp(self.logit(l, y, model) - mx))
            .sum();
        let mut acc = 0.0;
        for l in 0..nl {
            let r = libm::exp(self.logit(l, y, model) - mx) / z;
            let v = self.levels[l];
            acc += r * match model {
                NoiseModel::Gaussian(s) => (v - y) / (s * s),
                NoiseModel::Poisson(zeta) => libm::log(v / zeta),
                NoiseModel::Gamma(k) => k / v,
            };
        }
        Ok(match model {
            NoiseModel::Gaussian(_) => acc,
            NoiseModel::Poisson(zeta) => (acc - digamma(y / zeta + 1.0)) / zeta,
            NoiseModel::Gamma(k) => {
                if y == 0.0 {
                    f64::INFINITY
                } else {
                    (k - 1.0) / y - acc
                }
            }
        })
    }

    /// Scores of a whole image into `out`.
    pub fn score_image(&self, y: &[f64], model: NoiseModel, out: &mut [f64]) -> Result<()> {
        check::same_len("score_image", y.len(), out.len())?;
        for (o, &yi) in out.iter_mut().zip(y) {
            *o = self.score(yi, model)?;
        }
        Ok(())
    }
}

fn check_model(model: NoiseModel) -> Result<()> {
    match model {
        NoiseModel::Gaussian(s) => check::positive("sigma", s),
        NoiseModel::Poisson(z) => check::positive("zeta", z),
        NoiseModel::Gamma(k) => check::positive("k", k),
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::score::tweedie;

    const LV: [f64; 2] = [0.2, 0.8];
    const W: [f64; 2] = [0.7, 0.3];

    #[test]
    fn golden_case_4() {
        let p = LevelPrior::new(&LV, &W).unwrap();
        let mut r = [0.0; 2];
        let g = NoiseModel::Gaussian(0.1);
        p.responsibilities(0.45, g, &mut r).unwrap();
        assert!((r[0] - 0.97910845).abs() < 1e-8);
        let s = p.score(0.45, g).unwrap();
        assert!((s + 23.7465072684).abs() < 1e-9);
        let x = tweedie::gaussian(0.45, s, 0.1).unwrap();
        assert!((x - 0.2125349273).abs() < 1e-10 && (x - (r[0] * 0.2 + r[1] * 0.8)).abs() < 1e-14);

        let pm = NoiseModel::Poisson(0.05);
        p.responsibilities(0.35, pm, &mut r).unwrap();
        assert!((r[0] - 0.95864143).abs() < 1e-8);
        let s = p.score(0.35, pm).unwrap();
        assert!((s + 11.4402391602).abs() < 1e-9, "{s}");
        let x = tweedie::poisson(0.35, s, 0.05).unwrap();
        assert!((x - 0.2116457884).abs() < 1e-10);
        let geo = 0.05 * libm::exp(r[0] * libm::log(4.0) + r[1] * libm::log(16.0));
        assert!((geo - 0.2118021375).abs() < 1e-10);

        let gm = NoiseModel::Gamma(10.0);
        p.responsibilities(0.4, gm, &mut r).unwrap();
        assert!((r[0] - 0.42806298).abs() < 1e-8);
        let s = p.score(0.4, gm).unwrap();
        assert!((s + 6.0523619127).abs() < 1e-9);
        let x = tweedie::gamma(0.4, s, 10.0).unwrap().unwrap();
        assert!(
            (x - 0.3502337225).abs() < 1e-10 && (x - 1.0 / (r[0] / 0.2 + r[1] / 0.8)).abs() < 1e-13
        );
        let s = p.score(0.5, gm).unwrap();
        assert!((s - 4.8513527259).abs() < 1e-9);
        assert!((tweedie::gamma(0.5, s, 10.0).unwrap().unwrap() - 0.7605345091).abs() < 1e-10);
    }

    #[test]
    fn poisson_oracle_is_geometric_mean_up_to_digamma_factor() {
        // x_hat / geo = (n + 1/2) exp(-psi(n+1)); 0.99926 at n = 7.
        let p = LevelPrior::new(&LV, &W).unwrap();
        let pm = NoiseModel::Poisson(0.05);
        let s = p.score(0.35, pm).unwrap();
        let x = tweedie::poisson(0.35, s, 0.05).unwrap();
        let mut r = [0.0; 2];
        p.responsibilities(0.35, pm, &mut r).unwrap();
        let geo = 0.05 * libm::exp(r[0] * libm::log(4.0) + r[1] * libm::log(16.0));
        assert!((x / geo - 7.5 * libm::exp(-digamma(8.0))).abs() < 1e-12);
        assert!((x / geo - 0.99926).abs() < 1e-5);
    }

    #[test]
    fn bad_input() {
        assert!(LevelPrior::new(&[0.0, 1.0], &W).is_err());
        assert!(LevelPrior::new(&LV, &[0.0, 0.0]).is_err());
        assert!(matches!(
            LevelPrior::new(&LV, &[1.0]),
            Err(Error::ShapeMismatch { .. })
        ));
        let p = LevelPrior::new(&LV, &W).unwrap();
        assert!(matches!(
            p.score(-0.1, NoiseModel::Poisson(0.1)),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            p.score(0.1, NoiseModel::Gamma(0.0)),
            Err(Error::InvalidParam { name: "k", .. })
        ));
    }
}
