//! The alpha-scaled two-layer network of the SGD-noise-regimes paper, trained by hinge SGD at
//! temperature `T`: lazy (`alpha` large) vs feature learning (`alpha` small).
//!
//! Paper: Sclocchi, Geiger, Wyart, "Dissecting the effects of SGD noise in distinct regimes of deep
//! learning", ICML 2023, arXiv 2301.13703 (spec 04, sections 1-4; the reference code's conventions).
//! * Net (NTK parameterisation, no biases, code convention): `f(w, x) = W1 . phi(W0 x / sqrt(d)) / h`,
//!   all weights `N(0, 1)`, `phi = ReLU`.
//! * Predictor: `F(w, x) = alpha (f(w, x) - f(w0, x))`, so `F(w0, .) = 0` (the initial outputs are
//!   cached per example, `P` scalars).
//! * Loss: `l = max(0, 1 - y F) / alpha`; SGD `w <- w - dt grad L_B` on mini-batches of `B`,
//!   `dt = T B h / alpha` ([`super::perceptron::dt_from_temperature`]).
//! * Stop when every training margin `y F > 1`; observables `Delta w_rel = ||w - w0|| / ||w0||` and
//!   the test error.
//!
//! Cost per step `O(B h d)`; per stopping check `O(P h d)`.

use alloc::vec::Vec;

use rand_core::Rng;

use crate::error::{check, Error, Result};
use crate::rng::seq;

/// `alpha_article = alpha_code / sqrt(h)` (the article scales the output by `1/sqrt(h)`, the code
/// by `1/h`).
pub fn alpha_article(alpha_code: f64, h: usize) -> f64 {
    alpha_code / libm::sqrt(h as f64)
}

/// A two-layer ReLU net `f(w, x) = W1 . relu(W0 x / sqrt(d)) / h` (row-major `W0`: `h x d`).
#[derive(Debug, Clone, PartialEq)]
pub struct TwoLayerNet {
    d: usize,
    h: usize,
    /// First-layer weights, `h x d`.
    pub w0: Vec<f64>,
    /// Output weights, `h`.
    pub w1: Vec<f64>,
}

impl TwoLayerNet {
    /// A net with input dimension `d >= 1`, width `h >= 1`, weights i.i.d. `N(0, 1)` from `rng`.
    pub fn new<R: Rng + ?Sized>(d: usize, h: usize, rng: &mut R) -> Result<Self> {
        check::nonzero("d", d)?;
        check::nonzero("h", h)?;
        let w0 = (0..h * d).map(|_| seq::normal(rng)).collect();
        let w1 = (0..h).map(|_| seq::normal(rng)).collect();
        Ok(Self { d, h, w0, w1 })
    }

    /// Input dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Width.
    pub fn h(&self) -> usize {
        self.h
    }

    /// `f(w, x)` for one example `x` (length `d`).
    pub fn output(&self, x: &[f32]) -> Result<f64> {
        check::same_len("x", self.d, x.len())?;
        let s = 1.0 / libm::sqrt(self.d as f64);
        let mut f = 0.0;
        for (row, &a) in self.w0.chunks_exact(self.d).zip(&self.w1) {
            let pre: f64 = row.iter().zip(x).map(|(w, &v)| w * v as f64).sum::<f64>() * s;
            f += a * pre.max(0.0);
        }
        Ok(f / self.h as f64)
    }

    /// `f(w, x_i)` for every row of `x` (`n x d`).
    pub fn outputs(&self, x: &[f32]) -> Result<Vec<f64>> {
        if !x.len().is_multiple_of(self.d) {
            return Err(Error::invalid(
                "x",
                x.len() as f64,
                "a whole number of rows of length d",
            ));
        }
        x.chunks_exact(self.d).map(|r| self.output(r)).collect()
    }

    /// `||w - other||_2 / ||other||_2` over all weights (`Delta w_rel` with `other = w0`).
    pub fn relative_change(&self, other: &TwoLayerNet) -> Result<f64> {
        check::same_len("relative_change (w0)", other.w0.len(), self.w0.len())?;
        check::same_len("relative_change (w1)", other.w1.len(), self.w1.len())?;
        let (mut num, mut den) = (0.0, 0.0);
        for (a, b) in self
            .w0
            .iter()
            .chain(&self.w1)
            .zip(other.w0.iter().chain(&other.w1))
        {
            num += (a - b) * (a - b);
            den += b * b;
        }
        Ok(libm::sqrt(num / den.max(f64::MIN_POSITIVE)))
    }
}

/// Hinge SGD on `F = alpha (f - f0)` (see the module documentation).
#[derive(Debug, Clone)]
pub struct AlphaHingeSgd {
    /// `alpha` (code convention) `> 0`.
    pub alpha: f64,
    /// Step `dt > 0`.
    pub dt: f64,
}

impl AlphaHingeSgd {
    /// Checks `alpha > 0` and `dt > 0`.
    pub fn new(alpha: f64, dt: f64) -> Result<Self> {
        check::positive("alpha", alpha)?;
        check::positive("dt", dt)?;
        Ok(Self { alpha, dt })
    }

    /// Mean batch loss `(1/B) sum max(0, 1 - y F) / alpha` and its gradient w.r.t. `(W0, W1)`
    /// into `g0`, `g1`, for the examples `batch` of `(x, y)` with cached initial outputs `f0`.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_grad(
        &self,
        net: &TwoLayerNet,
        x: &[f32],
        y: &[f32],
        f0: &[f64],
        batch: &[usize],
        g0: &mut [f64],
        g1: &mut [f64],
    ) -> Result<f64> {
        let (d, h) = (net.d, net.h);
        check::same_len("y", x.len() / d.max(1), y.len())?;
        check::same_len("f0", y.len(), f0.len())?;
        check::same_len("g0", net.w0.len(), g0.len())?;
        check::same_len("g1", net.w1.len(), g1.len())?;
        check::nonzero("batch", batch.len())?;
        g0.fill(0.0);
        g1.fill(0.0);
        let s = 1.0 / libm::sqrt(d as f64);
        let inv_b = 1.0 / batch.len() as f64;
        let mut loss = 0.0;
        let mut pre = alloc::vec![0.0; h];
        for &i in batch {
            let xi =
                x.get(i * d..(i + 1) * d)
                    .ok_or(Error::invalid("batch index", i as f64, "< P"))?;
            let mut f = 0.0;
            for ((p, row), &a) in pre.iter_mut().zip(net.w0.chunks_exact(d)).zip(&net.w1) {
                *p = row.iter().zip(xi).map(|(w, &v)| w * v as f64).sum::<f64>() * s;
                f += a * p.max(0.0);
            }
            f /= h as f64;
            let yi = y[i] as f64;
            let margin = yi * self.alpha * (f - f0[i]);
            if margin < 1.0 {
                loss += (1.0 - margin) / self.alpha * inv_b;
                // dl/df = -y (the 1/alpha of the loss cancels the alpha of F).
                let c = -yi * inv_b / h as f64;
                for (j, (&p, &a)) in pre.iter().zip(&net.w1).enumerate() {
                    g1[j] += c * p.max(0.0);
                    if p > 0.0 {
                        let ca = c * a * s;
                        for (g, &v) in g0[j * d..(j + 1) * d].iter_mut().zip(xi) {
                            *g += ca * v as f64;
                        }
                    }
                }
            }
        }
        Ok(loss)
    }

    /// One step on `batch`: `w <- w - dt grad`. Returns the batch loss before the step; a
    /// non-finite weight after the step is [`Error::NonFinite`].
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        net: &mut TwoLayerNet,
        x: &[f32],
        y: &[f32],
        f0: &[f64],
        batch: &[usize],
        g0: &mut [f64],
        g1: &mut [f64],
    ) -> Result<f64> {
        let loss = self.loss_and_grad(net, x, y, f0, batch, g0, g1)?;
        for (w, g) in net.w0.iter_mut().zip(g0.iter()) {
            *w -= self.dt * g;
        }
        for (w, g) in net.w1.iter_mut().zip(g1.iter()) {
            *w -= self.dt * g;
        }
        check::all_finite_f64("first-layer weights after the step", &net.w0)?;
        check::all_finite_f64("output weights after the step", &net.w1)?;
        Ok(loss)
    }

    /// `min_i y_i F(x_i)` over the set (the stopping rule is `> 1`).
    pub fn min_margin(&self, net: &TwoLayerNet, x: &[f32], y: &[f32], f0: &[f64]) -> Result<f64> {
        let f = net.outputs(x)?;
        check::same_len("y", f.len(), y.len())?;
        check::same_len("f0", f.len(), f0.len())?;
        Ok(f.iter()
            .zip(y)
            .zip(f0)
            .map(|((&fi, &yi), &f0i)| yi as f64 * self.alpha * (fi - f0i))
            .fold(f64::INFINITY, f64::min))
    }

    /// Fraction of examples with `y F <= 0` (non-finite outputs count as errors).
    pub fn error_rate(&self, net: &TwoLayerNet, x: &[f32], y: &[f32], f0: &[f64]) -> Result<f64> {
        let f = net.outputs(x)?;
        check::same_len("y", f.len(), y.len())?;
        check::same_len("f0", f.len(), f0.len())?;
        let wrong = f
            .iter()
            .zip(y)
            .zip(f0)
            .filter(|((&fi, &yi), &f0i)| {
                let m = yi as f64 * (fi - f0i);
                m.is_nan() || m <= 0.0
            })
            .count();
        Ok(wrong as f64 / f.len().max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn setup() -> (TwoLayerNet, Vec<f32>, Vec<f32>, Vec<f64>) {
        let mut rng = crate::rng::default_rng(4);
        let net = TwoLayerNet::new(5, 7, &mut rng).unwrap();
        let x: Vec<f32> = (0..6 * 5)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let y = vec![1.0, -1.0, 1.0, 1.0, -1.0, -1.0];
        // Initial outputs of a different net, so that F != 0 and some margins sit below 1.
        let other = TwoLayerNet::new(5, 7, &mut rng).unwrap();
        let f0 = other.outputs(&x).unwrap();
        (net, x, y, f0)
    }

    #[test]
    fn output_matches_a_hand_computation() {
        // d = 2, h = 2: W0 = [[1, -1], [0.5, 2]], W1 = [3, -1], x = [1, 2]:
        // pre = [-1, 4.5] / sqrt(2), relu -> [0, 3.1819805], f = (0 - 3.1819805) / 2.
        let net = TwoLayerNet {
            d: 2,
            h: 2,
            w0: vec![1.0, -1.0, 0.5, 2.0],
            w1: vec![3.0, -1.0],
        };
        let f = net.output(&[1.0, 2.0]).unwrap();
        assert!((f + 4.5 / 2f64.sqrt() / 2.0).abs() < 1e-12, "{f}");
        assert!((alpha_article(8.0, 64) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (net, x, y, f0) = setup();
        for alpha in [0.3, 2.0, 50.0] {
            let sgd = AlphaHingeSgd::new(alpha, 1.0).unwrap();
            let batch = [0usize, 2, 3, 5, 1];
            let (mut g0, mut g1) = (vec![0.0; 35], vec![0.0; 7]);
            sgd.loss_and_grad(&net, &x, &y, &f0, &batch, &mut g0, &mut g1)
                .unwrap();
            let loss = |n: &TwoLayerNet| {
                let (mut a, mut b) = (vec![0.0; 35], vec![0.0; 7]);
                sgd.loss_and_grad(n, &x, &y, &f0, &batch, &mut a, &mut b)
                    .unwrap()
            };
            let eps = 1e-6;
            for k in 0..42 {
                let mut p = net.clone();
                let mut m = net.clone();
                let (wp, wm) = if k < 35 {
                    (&mut p.w0[k], &mut m.w0[k])
                } else {
                    (&mut p.w1[k - 35], &mut m.w1[k - 35])
                };
                *wp += eps;
                *wm -= eps;
                let fd = (loss(&p) - loss(&m)) / (2.0 * eps);
                let an = if k < 35 { g0[k] } else { g1[k - 35] };
                assert!(
                    (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                    "alpha {alpha} k {k}: {fd} vs {an}"
                );
            }
        }
    }

    #[test]
    fn training_fits_a_separable_task_and_stops() {
        // y = sign(x_1): a few hundred steps at small T fit 64 points; F(w0) = 0 at the start.
        let mut rng = crate::rng::default_rng(9);
        let (d, h, p) = (4, 32, 64);
        let x: Vec<f32> = (0..p * d).map(|_| seq::normal(&mut rng) as f32).collect();
        let y: Vec<f32> = x
            .chunks_exact(d)
            .map(|r| if r[0] >= 0.0 { 1.0 } else { -1.0 })
            .collect();
        let mut net = TwoLayerNet::new(d, h, &mut rng).unwrap();
        let init = net.clone();
        let f0 = net.outputs(&x).unwrap();
        let alpha = 1.0;
        let dt = super::super::perceptron::dt_from_temperature(1e-2, alpha, h, 8).unwrap();
        let sgd = AlphaHingeSgd::new(alpha, dt).unwrap();
        assert_eq!(sgd.min_margin(&net, &x, &y, &f0).unwrap(), 0.0);
        let (mut g0, mut g1) = (vec![0.0; h * d], vec![0.0; h]);
        let mut stopped = false;
        for step in 0..20_000 {
            let batch: Vec<usize> = (0..8).map(|_| seq::below(&mut rng, p).unwrap()).collect();
            sgd.step(&mut net, &x, &y, &f0, &batch, &mut g0, &mut g1)
                .unwrap();
            if step % 50 == 0 && sgd.min_margin(&net, &x, &y, &f0).unwrap() > 1.0 {
                stopped = true;
                break;
            }
        }
        assert!(stopped, "did not fit");
        assert_eq!(sgd.error_rate(&net, &x, &y, &f0).unwrap(), 0.0);
        assert!(net.relative_change(&init).unwrap() > 0.0);
    }

    #[test]
    fn bad_input_is_typed() {
        let (net, x, y, f0) = setup();
        assert!(AlphaHingeSgd::new(0.0, 1.0).is_err());
        assert!(AlphaHingeSgd::new(1.0, -1.0).is_err());
        let sgd = AlphaHingeSgd::new(1.0, 1.0).unwrap();
        let (mut g0, mut g1) = (vec![0.0; 35], vec![0.0; 7]);
        assert!(sgd
            .loss_and_grad(&net, &x, &y, &f0, &[99], &mut g0, &mut g1)
            .is_err());
        assert!(sgd
            .loss_and_grad(&net, &x, &y, &f0, &[], &mut g0, &mut g1)
            .is_err());
        assert!(net.output(&[1.0]).is_err());
        assert!(TwoLayerNet::new(0, 3, &mut crate::rng::default_rng(1)).is_err());
    }
}
