//! The boundary-density perceptron of the SGD-noise-regimes paper: data, model, hinge-loss SGD at
//! temperature `T = lr / B`.
//!
//! Paper: Sclocchi, Geiger, Wyart, "Dissecting the Effects of SGD Noise in Distinct Regimes of Deep
//! Learning", 2023, arXiv:2301.13703 (perceptron of the follow-up "On the different regimes of
//! SGD", arXiv:2309.10688).
//!
//! ```text
//! x = (x_1, x_perp), x_perp ~ N(0, I_{d-1}),  rho(x_1) ∝ |x_1|^chi exp(-x_1^2 / 2),  y = sign(x_1)
//!   sampler: G ~ Gamma((1 + chi)/2, 1), |x_1| = sqrt(2 G), random sign  (E x_1^2 = 1 + chi)
//! F(w, x) = w . x / sqrt(d),  w_0 = 0,  hinge loss mean_batch max(0, 1 - y F)
//! SGD step: w <- w + (lr / B) sum_{mu in batch, y F < 1} y_mu x_mu / sqrt(d)
//! T = lr / B;  reference-code units: T = dt alpha / (h B)  <=>  dt = T B h / alpha
//! ```
//! Stopping rule: every training margin `y F >= 1`. Cost: a step is O(B d); a margin check O(P d).
//! All functions work on caller slices (no allocation).

use rand_core::Rng;

use crate::error::{check, Error, Result};
use crate::rng::seq;

/// The data distribution (`chi >= 0`, `d >= 2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundaryDensity {
    /// Input dimension `d >= 2`.
    pub d: usize,
    /// Density exponent near the boundary `chi >= 0` (0 = Gaussian).
    pub chi: f64,
}

impl BoundaryDensity {
    /// Checks `d` and `chi`.
    pub fn validate(&self) -> Result<()> {
        if self.d < 2 {
            return Err(Error::invalid("d", self.d as f64, "at least 2"));
        }
        check::non_negative("chi", self.chi)?;
        check::finite("chi", self.chi)
    }

    /// Fills `x` (`n x d`) and `y` (`n`, +-1), `n = y.len()`. Per example: the Gamma magnitude, the
    /// sign, then the `d - 1` Gaussian coordinates.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, x: &mut [f32], y: &mut [f32]) -> Result<()> {
        self.validate()?;
        let d = self.d;
        check::same_len("perceptron x", y.len() * d, x.len())?;
        let k = (1.0 + self.chi) / 2.0;
        for (row, yi) in x.chunks_exact_mut(d).zip(y.iter_mut()) {
            let r = libm::sqrt(2.0 * seq::gamma(rng, k, 1.0)?);
            let s = if seq::bernoulli(rng, 0.5)? { 1.0 } else { -1.0 };
            row[0] = (s * r) as f32;
            *yi = if row[0] >= 0.0 { 1.0 } else { -1.0 };
            seq::fill_gaussian_f32(rng, 1.0, &mut row[1..])?;
        }
        Ok(())
    }
}

/// `E|x_1| = sqrt(2) Gamma(k + 1/2) / Gamma(k)`, `k = (1 + chi)/2`.
pub fn mean_abs_x1(chi: f64) -> f64 {
    let k = (1.0 + chi) / 2.0;
    libm::sqrt(2.0) * libm::exp(libm::lgamma(k + 0.5) - libm::lgamma(k))
}

/// `T = lr / B`.
pub fn temperature(lr: f64, batch: usize) -> Result<f64> {
    check::non_negative("lr", lr)?;
    check::nonzero("batch", batch)?;
    Ok(lr / batch as f64)
}

/// Reference-code time step for temperature `T` (code `alpha`, width `h`, batch `B`):
/// `dt = T B h / alpha` (and back with [`temperature_from_dt`]).
///
/// The temperature is the article's `T = eta / B`, where `eta` is the step of the article's
/// parameterisation (output `/sqrt(h)`, loss `/alpha_article^2`). The reference code
/// (`feature_lazy/sgd.py`) steps its own parameterisation (output `/h`, loss `/alpha`) with
/// `dt = dt_ h / alpha`, `dt_ = eta` being the article step: its gradients are `alpha / h` times
/// the article's, so the same weight move needs `dt = eta h / alpha`. With this `dt` the change
/// of `F` per step is `O(T)` whatever `alpha`, which is what makes `T` the control parameter
/// (spec 04's oracle O1 wrote `dt = T alpha h B`, which grows `F`'s steps as `alpha^2 T`).
pub fn dt_from_temperature(t: f64, alpha: f64, h: usize, batch: usize) -> Result<f64> {
    check::non_negative("T", t)?;
    check::positive("alpha", alpha)?;
    check::nonzero("h", h)?;
    check::nonzero("batch", batch)?;
    Ok(t * batch as f64 * h as f64 / alpha)
}

/// `T = dt alpha / (h B)`.
pub fn temperature_from_dt(dt: f64, alpha: f64, h: usize, batch: usize) -> Result<f64> {
    check::non_negative("dt", dt)?;
    check::positive("alpha", alpha)?;
    check::nonzero("h", h)?;
    check::nonzero("batch", batch)?;
    Ok(dt * alpha / (h as f64 * batch as f64))
}

/// `F(w, x) = w . x / sqrt(d)` (f64 accumulation).
pub fn output(w: &[f64], x: &[f32]) -> Result<f64> {
    check::same_len("perceptron x", w.len(), x.len())?;
    let s: f64 = w.iter().zip(x).map(|(a, &b)| a * b as f64).sum();
    Ok(s / libm::sqrt(w.len() as f64))
}

/// Largest batch [`hinge_step`] takes (margins are kept on the stack).
pub const MAX_BATCH: usize = 256;

/// One SGD step of the batch-mean hinge loss on rows `batch` of `x` (`P x d`), the gradient taken at
/// the current `w`; returns the batch loss before the step. `lr >= 0`, `1 <= batch.len() <=`
/// [`MAX_BATCH`].
pub fn hinge_step(w: &mut [f64], x: &[f32], y: &[f32], batch: &[usize], lr: f64) -> Result<f64> {
    check::non_negative("lr", lr)?;
    check::nonzero("batch", batch.len())?;
    if batch.len() > MAX_BATCH {
        return Err(Error::CapacityExceeded {
            what: "hinge_step batch",
            capacity: MAX_BATCH,
            needed: batch.len(),
        });
    }
    let d = w.len();
    check::same_len("perceptron x", y.len() * d, x.len())?;
    if let Some(&i) = batch.iter().find(|&&i| i >= y.len()) {
        return Err(Error::invalid(
            "batch index",
            i as f64,
            "indices below the number of examples",
        ));
    }
    let mut coef = [0f64; MAX_BATCH];
    let mut loss = 0.0;
    for (c, &i) in coef.iter_mut().zip(batch) {
        let m = y[i] as f64 * output(w, &x[i * d..(i + 1) * d])?;
        loss += (1.0 - m).max(0.0);
        *c = if m < 1.0 { y[i] as f64 } else { 0.0 };
    }
    let scale = lr / batch.len() as f64 / libm::sqrt(d as f64);
    for (&c, &i) in coef.iter().zip(batch) {
        if c != 0.0 {
            for (wj, &xj) in w.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *wj += scale * c * xj as f64;
            }
        }
    }
    Ok(loss / batch.len() as f64)
}

/// The smallest training margin `min_mu y_mu F(w, x_mu)` (the stopping rule is `>= 1`).
pub fn min_margin(w: &[f64], x: &[f32], y: &[f32]) -> Result<f64> {
    let d = w.len();
    check::same_len("perceptron x", y.len() * d, x.len())?;
    let mut m = f64::INFINITY;
    for (row, &yi) in x.chunks_exact(d.max(1)).zip(y) {
        m = m.min(yi as f64 * output(w, row)?);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_oracles_o1() {
        assert_eq!(temperature(0.5, 8).unwrap(), 0.0625);
        assert_eq!(temperature(0.05, 512).unwrap(), 9.765625e-05);
        // dt = dt_ h / alpha with dt_ = T B (feature_lazy/sgd.py): 1e-3 * 16 * 100 / 10 = 0.16.
        assert!((dt_from_temperature(1e-3, 10.0, 100, 16).unwrap() - 0.16).abs() < 1e-15);
        assert!((temperature_from_dt(0.16, 10.0, 100, 16).unwrap() - 1e-3).abs() < 1e-15);
        assert!(temperature(0.1, 0).is_err());
        assert!(matches!(
            dt_from_temperature(1.0, 0.0, 1, 1),
            Err(Error::InvalidParam { name: "alpha", .. })
        ));
    }

    #[test]
    fn hinge_step_oracle_o2() {
        let mut w = [0.5, -0.2, 0.1];
        let x = [1.0f32, 0.5, -1.0, -0.3, 2.0, 0.4, 0.2, -0.1, 3.0];
        let y = [1.0f32, -1.0, 1.0];
        let f0 = output(&w, &x[..3]).unwrap();
        assert!((f0 - 0.1732050808).abs() < 1e-9);
        let loss = hinge_step(&mut w, &x, &y, &[0, 1, 2], 0.3).unwrap();
        assert!((loss - 0.7632863896322535).abs() < 1e-7, "{loss}");
        for (a, b) in w.iter().zip([0.5866025404, -0.2923760431, 0.1923760431]) {
            assert!((a - b).abs() < 1e-7, "{w:?}");
        }
    }

    #[test]
    fn bad_input() {
        let g = BoundaryDensity { d: 1, chi: 0.0 };
        assert!(matches!(
            g.validate(),
            Err(Error::InvalidParam { name: "d", .. })
        ));
        assert!(matches!(
            BoundaryDensity { d: 3, chi: -0.5 }.validate(),
            Err(Error::InvalidParam { name: "chi", .. })
        ));
        let mut w = [0.0; 2];
        assert!(hinge_step(&mut w, &[0.0; 4], &[1.0, 1.0], &[5], 0.1).is_err());
        assert!(hinge_step(&mut w, &[0.0; 4], &[1.0, 1.0], &[0], -0.1).is_err());
        assert!(hinge_step(&mut w, &[0.0; 4], &[1.0, 1.0], &[], 0.1).is_err());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn sampler_moments_o4() {
        assert!((mean_abs_x1(0.0) - 0.7978845608).abs() < 1e-9);
        assert!((mean_abs_x1(1.0) - 1.2533141373).abs() < 1e-9);
        assert!((mean_abs_x1(2.0) - 1.5957691216).abs() < 1e-9);
        let n = 400_000;
        for chi in [0.0, 1.0] {
            let g = BoundaryDensity { d: 2, chi };
            let mut x = alloc::vec![0f32; 2 * n];
            let mut y = alloc::vec![0f32; n];
            g.sample(&mut seq::default_rng(0), &mut x, &mut y).unwrap();
            let a: f64 = x.iter().step_by(2).map(|&v| (v as f64).abs()).sum::<f64>() / n as f64;
            let s2: f64 = x
                .iter()
                .step_by(2)
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
                / n as f64;
            let m = mean_abs_x1(chi);
            let var_abs = 1.0 + chi - m * m;
            assert!(
                (a - m).abs() < 5.0 * (var_abs / n as f64).sqrt(),
                "chi={chi}: {a}"
            );
            // Var(x^2) = E x^4 - (1+chi)^2 = (1+chi)(3+chi) - (1+chi)^2 = 2 (1 + chi).
            assert!(
                (s2 - (1.0 + chi)).abs() < 5.0 * (2.0 * (1.0 + chi) / n as f64).sqrt(),
                "chi={chi}: {s2}"
            );
            assert!(x
                .chunks_exact(2)
                .zip(&y)
                .all(|(r, &yi)| (r[0] >= 0.0) == (yi > 0.0)));
        }
    }
}
