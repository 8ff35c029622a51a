//! AR-DAE score learning (amortised residual denoising autoencoder), as used by Noise2Score.
//!
//! Paper: Kim & Ye, "Noise2Score" (2021, arXiv 2106.07009); AR-DAE from Lim et al. 2020. Official
//! code `models/networks.py` (`UNet.forward`: `F.mse_loss(std * score, -noise)`), spec 10 item 3:
//! `L(theta) = mean_i (sigma_a g_theta(y_i + sigma_a u_i) + u_i)^2`, `u ~ N(0, I)`; the minimiser is
//! the score of `p_y * N(0, sigma_a^2)`, i.e. the score of `y` as `sigma_a -> 0`. Gradient w.r.t.
//! the output `g_i`: `2 sigma_a (sigma_a g_i + u_i) / N`. Annealing at iteration `i` (0-based):
//! `perc = min((i + 1) / ramp, 1)`, `sigma_a = sigma_max (1 - perc) + sigma_min perc`, ramp 22000.
//!
//! [`RbfScoreModel`] (alloc) is the spec's per-pixel score model: `g(v) = sum_j c_j
//! exp(-(v - m_j)^2 / (2 h^2))`, `J` centres equally spaced on `[lo, hi]`, `h = (hi - lo)/(J - 1)`.
//! The loss is quadratic in `c`: `A = sigma_a^2 Phi^T Phi / N + ridge I`, `b = -sigma_a Phi^T u / N`,
//! `c = A^{-1} b` (Cholesky), `Phi` evaluated at `y + sigma_a u` over `R` noise replicas of every
//! pixel. Cost: O(N J^2) to accumulate `Phi^T Phi` plus O(J^3).

#[cfg(feature = "alloc")]
use crate::error::Error;
use crate::error::{check, Result};

/// AR-DAE loss `mean (sigma_a g + u)^2`, with its gradient w.r.t. `g` written into `grad`.
pub fn ardae_loss(g: &[f64], u: &[f64], sigma_a: f64, grad: &mut [f64]) -> Result<f64> {
    check::positive("sigma_a", sigma_a)?;
    check::nonzero("batch (pixels)", g.len())?;
    check::same_len("ardae u", g.len(), u.len())?;
    check::same_len("ardae grad", g.len(), grad.len())?;
    check::all_finite_f64("score output", g)?;
    let inv = 1.0 / g.len() as f64;
    let mut loss = 0.0;
    for ((gr, &gi), &ui) in grad.iter_mut().zip(g).zip(u) {
        let r = sigma_a * gi + ui;
        loss += r * r;
        *gr = 2.0 * sigma_a * r * inv;
    }
    Ok(loss * inv)
}

/// The reference annealing of `sigma_a`: linear from `sigma_max` to `sigma_min` over `ramp` iterations.
pub fn anneal_sigma(iter: u64, sigma_max: f64, sigma_min: f64, ramp: u64) -> Result<f64> {
    check::positive("sigma_max", sigma_max)?;
    check::positive("sigma_min", sigma_min)?;
    check::nonzero("ramp", ramp as usize)?;
    let perc = ((iter as f64 + 1.0) / ramp as f64).min(1.0);
    Ok(sigma_max * (1.0 - perc) + sigma_min * perc)
}

/// Settings of [`RbfScoreModel::fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RbfFit {
    /// AR-DAE perturbation `sigma_a > 0`.
    pub sigma_a: f64,
    /// First centre.
    pub lo: f64,
    /// Last centre (`> lo`).
    pub hi: f64,
    /// Number of centres `J >= 2`.
    pub centres: usize,
    /// Noise replicas per pixel `R >= 1`.
    pub replicas: usize,
    /// Ridge added to the normal equations (`>= 0`).
    pub ridge: f64,
}

/// Per-pixel RBF score model fitted by the AR-DAE loss (closed-form ridge solve).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct RbfScoreModel {
    lo: f64,
    hi: f64,
    h: f64,
    coeffs: alloc::vec::Vec<f64>,
}

#[cfg(feature = "alloc")]
impl RbfScoreModel {
    /// Fits `J = cfg.centres` coefficients on the noisy pixels `y` with `cfg.replicas` draws of
    /// `u` per pixel.
    pub fn fit<R: rand_core::Rng + ?Sized>(rng: &mut R, y: &[f64], cfg: &RbfFit) -> Result<Self> {
        use alloc::vec;
        let RbfFit {
            sigma_a,
            lo,
            hi,
            centres,
            replicas,
            ridge,
        } = *cfg;
        check::positive("sigma_a", sigma_a)?;
        check::finite("lo", lo)?;
        check::finite("hi", hi)?;
        if hi <= lo {
            return Err(Error::invalid("hi", hi, "greater than lo"));
        }
        if centres < 2 {
            return Err(Error::invalid("centres", centres as f64, "an integer >= 2"));
        }
        check::nonzero("replicas", replicas)?;
        check::nonzero("pixels", y.len())?;
        check::non_negative("ridge", ridge)?;
        check::all_finite_f64("y", y)?;
        let j = centres;
        let h = (hi - lo) / (j - 1) as f64;
        let mut ata = vec![0.0; j * j];
        let mut atu = vec![0.0; j];
        let mut phi = vec![0.0; j];
        let cutoff = 9.0 * h; // exp(-40.5) < 3e-18: negligible terms are skipped
        for _ in 0..replicas {
            for &yi in y {
                let u = crate::rng::seq::normal(rng);
                let v = yi + sigma_a * u;
                let first = libm::ceil((v - cutoff - lo) / h).max(0.0) as usize;
                let last =
                    (libm::floor((v + cutoff - lo) / h).max(-1.0) + 1.0).min(j as f64) as usize;
                if first >= last {
                    continue;
                }
                for (k, p) in phi[first..last].iter_mut().enumerate() {
                    let m = lo + (first + k) as f64 * h;
                    *p = libm::exp(-(v - m) * (v - m) / (2.0 * h * h));
                }
                for a in first..last {
                    let pa = phi[a];
                    atu[a] += pa * u;
                    for b in a..last {
                        ata[a * j + b] += pa * phi[b];
                    }
                }
            }
        }
        let nn = (y.len() * replicas) as f64;
        let mut mat = nalgebra::DMatrix::<f64>::zeros(j, j);
        for a in 0..j {
            for b in a..j {
                let v = sigma_a * sigma_a * ata[a * j + b] / nn;
                mat[(a, b)] = v;
                mat[(b, a)] = v;
            }
            mat[(a, a)] += ridge;
        }
        let rhs = nalgebra::DVector::from_iterator(j, atu.iter().map(|&v| -sigma_a * v / nn));
        let chol = mat.cholesky().ok_or(Error::Numerical(
            "AR-DAE normal equations are not positive definite (raise ridge)",
        ))?;
        let c = chol.solve(&rhs);
        Ok(Self {
            lo,
            hi,
            h,
            coeffs: c.iter().copied().collect(),
        })
    }

    /// The fitted score `g(v)`.
    pub fn eval(&self, v: f64) -> f64 {
        let mut s = 0.0;
        for (k, &c) in self.coeffs.iter().enumerate() {
            let m = self.lo + k as f64 * self.h;
            let d = v - m;
            if d.abs() < 9.0 * self.h {
                s += c * libm::exp(-d * d / (2.0 * self.h * self.h));
            }
        }
        s
    }

    /// Scores of every pixel of `y` into `out`.
    pub fn eval_image(&self, y: &[f64], out: &mut [f64]) -> Result<()> {
        check::same_len("rbf eval", y.len(), out.len())?;
        for (o, &v) in out.iter_mut().zip(y) {
            *o = self.eval(v);
        }
        Ok(())
    }

    /// Centre range `(lo, hi)`.
    pub fn range(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }

    /// Fitted coefficients.
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::{default_rng, seq};

    #[test]
    fn golden_5_and_6() {
        let mut g = [0.0];
        let l = ardae_loss(&[-3.0], &[0.4], 0.05, &mut g).unwrap();
        assert!((l - 0.0625).abs() < 1e-15);
        assert!((g[0] - 2.0 * 0.05 * 0.25).abs() < 1e-15);
        let a = |i, mx, mn| anneal_sigma(i, mx, mn, 22000).unwrap();
        // The spec prints 0.0499977273 (= 0.05 (1 - 1/22000), the sigma_min term dropped); the formula
        // gives 0.05 (1 - 1/22000) + 0.001/22000 = 0.0499977727 (numpy).
        assert!((a(0, 0.05, 0.001) - 0.0499977727).abs() < 1e-10);
        assert!((a(0, 1.0, 0.5) - 0.9999772727).abs() < 1e-10);
        assert!((a(10999, 0.05, 0.001) - 0.0255).abs() < 1e-12);
        assert!((a(10999, 1.0, 0.5) - 0.75).abs() < 1e-12);
        assert!((a(21999, 0.05, 0.001) - 0.001).abs() < 1e-15 && a(50000, 1.0, 0.5) == 0.5);
        assert!(matches!(
            ardae_loss(&[], &[], 0.1, &mut []),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            ardae_loss(&[1.0], &[1.0], 0.0, &mut g),
            Err(Error::InvalidParam {
                name: "sigma_a",
                ..
            })
        ));
    }

    #[test]
    fn linear_minimiser() {
        // y ~ N(0, tau^2), g(v) = c v: least squares gives c = -1/(tau^2 + sigma_a^2); 1e6 samples, 2%.
        let (tau, sa) = (0.5, 0.2);
        let mut rng = default_rng(3);
        let (mut vu, mut vv) = (0.0, 0.0);
        for _ in 0..1_000_000 {
            let y = tau * seq::normal(&mut rng);
            let u = seq::normal(&mut rng);
            let v = y + sa * u;
            vu += v * u;
            vv += v * v;
        }
        let c = -vu / (sa * vv);
        let want = -1.0 / (tau * tau + sa * sa);
        assert!((c / want - 1.0).abs() < 0.02, "{c} {want}");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn rbf_recovers_gaussian_score() {
        // y ~ N(0.5, 0.1^2): smoothed score -(v - 0.5)/(0.01 + sigma_a^2) at the bulk.
        let mut rng = default_rng(9);
        // 50000 pixels x 16 replicas; numpy with the same design over 6 seeds errs by <= 0.72.
        let y: alloc::vec::Vec<f64> = (0..50000)
            .map(|_| 0.5 + 0.1 * seq::normal(&mut rng))
            .collect();
        let m = RbfScoreModel::fit(
            &mut rng,
            &y,
            &RbfFit {
                sigma_a: 0.02,
                lo: 0.0,
                hi: 1.0,
                centres: 30,
                replicas: 16,
                ridge: 1e-6,
            },
        )
        .unwrap();
        for &v in &[0.4, 0.5, 0.6] {
            let want = -(v - 0.5) / (0.01 + 0.0004);
            assert!(
                (m.eval(v) - want).abs() < 1.0,
                "{v}: {} vs {want}",
                m.eval(v)
            );
        }
        assert!(RbfScoreModel::fit(
            &mut rng,
            &y,
            &RbfFit {
                sigma_a: 0.02,
                lo: 1.0,
                hi: 0.0,
                centres: 30,
                replicas: 8,
                ridge: 1e-6
            }
        )
        .is_err());
    }
}
