//! Adam (Kingma & Ba 2015, arXiv 1412.6980) on `f64` slices, as used for the SAC actor, critics
//! and temperature (Haarnoja et al. 2018, arXiv 1801.01290):
//! `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2`,
//! `theta <- theta - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Adam state for one parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    /// Adam for `n` parameters with learning rate `lr` and the usual `(0.9, 0.999, 1e-8)`.
    pub fn new(n: usize, lr: f64) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::invalid("learning rate", lr, "a finite number > 0"));
        }
        Ok(Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        })
    }

    /// One update of `params` with gradient `grads`.
    pub fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()> {
        if params.len() != self.m.len() || grads.len() != self.m.len() {
            return Err(Error::len_mismatch("Adam::step", self.m.len(), grads.len()));
        }
        if let Some(i) = grads.iter().position(|g| !g.is_finite()) {
            return Err(Error::NonFinite {
                what: "SAC gradient",
                index: i,
            });
        }
        self.t = self.t.saturating_add(1);
        let c1 = 1.0 - libm::pow(self.beta1, self.t as f64);
        let c2 = 1.0 - libm::pow(self.beta2, self.t as f64);
        for i in 0..params.len() {
            let g = grads[i];
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g;
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g * g;
            params[i] -= self.lr * (self.m[i] / c1) / (libm::sqrt(self.v[i] / c2) + self.eps);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_is_lr_times_sign() {
        let mut a = Adam::new(2, 0.1).unwrap();
        let mut p = [1.0, 1.0];
        a.step(&mut p, &[3.0, -0.5]).unwrap();
        assert!((p[0] - 0.9).abs() < 1e-8 && (p[1] - 1.1).abs() < 1e-8);
        assert!(a.step(&mut p, &[f64::NAN, 0.0]).is_err());
        assert!(Adam::new(1, 0.0).is_err());
    }
}
