//! The two-layer patch CNN of the benign-oscillation paper.
//!
//! Paper: Lu, Wu, Yang, Zou, "Benign Oscillation of Stochastic Gradient Descent with Large
//! Learning Rates", 2023, arXiv:2310.17074 (model as described in spec 06 / the ICLR reviews).
//!
//! ```text
//! F_j(W_j, x) = (1/m) sum_{r=1..m} sum_{p=1..P} sigma(<w_{j,r}, x^(p)>),   j in {+1, -1}
//! f(W, x)     = F_{+1} - F_{-1},        sigma(z) = max(z, 0)^q  (q = 2: ReLU^2)
//! d f / d w_{j,r} = j (1/m) sum_p q max(<w_{j,r}, x^(p)>, 0)^(q-1) x^(p)
//! loss l = (y f - 1)^2 / 2,  dl/df = f - y  (y = +-1)
//! ```
//! Filters are shared across patches (a 1-D convolution with stride d); the second layer is fixed
//! at +-1/m. `W` is `2 x m x d` (class +1 first). Cost: `2 m P d` MACs forward, the same backward;
//! no allocation (slices in, slices out), so it lives here rather than in the alloc-only `models`
//! (which re-exports it).

use crate::error::{check, Error, Result};

/// Shape of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatchCnn {
    /// Filters per class `m >= 1`.
    pub m: usize,
    /// Patch dimension `d >= 1`.
    pub d: usize,
    /// Patches per example `P >= 1`.
    pub patches: usize,
    /// Activation power `q >= 1` (2 = ReLU^2, 1 = ReLU).
    pub power: u32,
}

impl PatchCnn {
    /// Number of parameters `2 m d`.
    pub fn num_params(&self) -> usize {
        2 * self.m * self.d
    }

    fn validate(&self, w: &[f32], x: &[f32]) -> Result<()> {
        check::nonzero("m", self.m)?;
        check::nonzero("d", self.d)?;
        check::nonzero("patches", self.patches)?;
        if self.power == 0 {
            return Err(Error::invalid("power", 0.0, "an integer >= 1"));
        }
        check::same_len("patch-cnn weights", self.num_params(), w.len())?;
        check::same_len("patch-cnn input", self.patches * self.d, x.len())
    }

    fn act(&self, z: f32) -> (f32, f32) {
        let r = z.max(0.0);
        let q = self.power as i32;
        let s = libm::powf(r, q as f32);
        let ds = if q == 1 {
            if z > 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            q as f32 * libm::powf(r, (q - 1) as f32)
        };
        (s, ds)
    }

    /// `f(W, x)` for one example `x` (`P x d`).
    pub fn forward(&self, w: &[f32], x: &[f32]) -> Result<f32> {
        self.validate(w, x)?;
        let d = self.d;
        let inv_m = 1.0 / self.m as f32;
        let mut f = 0.0f32;
        for (k, wr) in w.chunks_exact(d).enumerate() {
            let sign = if k < self.m { 1.0 } else { -1.0 };
            let s: f32 = x.chunks_exact(d).map(|xp| self.act(dot(wr, xp)).0).sum();
            f += sign * inv_m * s;
        }
        Ok(f)
    }

    /// `f(W, x)` and `grad += scale * df/dW` (so `scale = dl/df` gives the loss gradient).
    pub fn forward_backward(
        &self,
        w: &[f32],
        x: &[f32],
        scale_of: impl FnOnce(f32) -> f32,
        grad: &mut [f32],
    ) -> Result<f32> {
        let f = self.forward(w, x)?;
        check::same_len("patch-cnn grad", w.len(), grad.len())?;
        let c = scale_of(f);
        let d = self.d;
        let inv_m = 1.0 / self.m as f32;
        for (k, (wr, gr)) in w.chunks_exact(d).zip(grad.chunks_exact_mut(d)).enumerate() {
            let sign = if k < self.m { 1.0 } else { -1.0 };
            for xp in x.chunks_exact(d) {
                let ds = self.act(dot(wr, xp)).1;
                if ds != 0.0 {
                    let a = c * sign * inv_m * ds;
                    for (g, &xv) in gr.iter_mut().zip(xp) {
                        *g += a * xv;
                    }
                }
            }
        }
        Ok(f)
    }

    /// Square loss `(y f - 1)^2 / 2` and its gradient written (not added) into `grad`.
    pub fn square_loss_grad(
        &self,
        w: &[f32],
        x: &[f32],
        y: f32,
        grad: &mut [f32],
    ) -> Result<(f32, f32)> {
        check::finite("y", y as f64)?;
        grad.fill(0.0);
        let mut f_out = 0.0;
        self.forward_backward(
            w,
            x,
            |f| {
                f_out = f;
                f - y
            },
            grad,
        )?;
        let r = y * f_out - 1.0;
        Ok((0.5 * r * r, f_out))
    }
}

/// GD stability threshold on a fitted strong-feature example, `m / (2 |u|^2)` (spec 06 §3).
pub fn stability_threshold(m: usize, u_norm: f64) -> Result<f64> {
    check::nonzero("m", m)?;
    check::positive("u_norm", u_norm)?;
    Ok(m as f64 / (2.0 * u_norm * u_norm))
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
// Oracle values keep the digits of the spec's tables.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    const W: [f32; 12] = [
        0.2, -0.1, 0.3, 0.0, 0.4, -0.2, -0.3, 0.1, 0.1, 0.25, 0.0, 0.05,
    ];
    const M: PatchCnn = PatchCnn {
        m: 2,
        d: 3,
        patches: 3,
        power: 2,
    };

    fn check_case(x: [f32; 9], f_want: f32, loss_want: f32, g_want: [f32; 12]) {
        let mut g = [0f32; 12];
        let (loss, f) = M.square_loss_grad(&W, &x, 1.0, &mut g).unwrap();
        assert!((f - f_want).abs() < 1e-6, "{f}");
        assert!((loss - loss_want).abs() < 1e-6, "{loss}");
        for (a, b) in g.iter().zip(g_want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
    }

    #[test]
    fn hand_oracles_b1_b2() {
        check_case(
            [0.5, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.5],
            0.384375,
            0.1894970703125,
            [
                -0.03078125,
                0.0,
                -0.415546875,
                0.0,
                -0.985,
                0.0,
                0.0,
                0.24625,
                0.138515625,
                0.0384765625,
                0.0,
                0.0692578125,
            ],
        );
        check_case(
            [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0, -1.0],
            0.016875,
            0.4832673828125,
            [
                -0.04915625,
                0.0,
                0.0,
                -0.0589875,
                0.0,
                0.196625,
                0.0,
                0.0,
                0.0,
                0.06881875,
                0.0,
                -0.024578125,
            ],
        );
        assert_eq!(stability_threshold(10, 4.0).unwrap(), 0.3125);
        assert_eq!(stability_threshold(20, 2.0).unwrap(), 2.5);
    }

    #[test]
    fn invariants_and_finite_differences() {
        let x = [0.5f32, 0.1, -0.2, 0.3, 2.0, 0.4, -0.6, 0.2, 1.5];
        let mut same = W;
        same.copy_within(0..6, 6);
        assert_eq!(M.forward(&same, &x).unwrap(), 0.0);
        let mut swapped = W;
        swapped[..6].copy_from_slice(&W[6..]);
        swapped[6..].copy_from_slice(&W[..6]);
        assert_eq!(
            M.forward(&swapped, &x).unwrap(),
            -M.forward(&W, &x).unwrap()
        );
        for power in [1u32, 2, 3] {
            let m = PatchCnn { power, ..M };
            let mut g = [0f32; 12];
            m.square_loss_grad(&W, &x, -1.0, &mut g).unwrap();
            let loss = |w: &[f64]| {
                // f64 forward for a clean central difference.
                let mut f = 0.0f64;
                for k in 0..4 {
                    let sign = if k < 2 { 1.0 } else { -1.0 };
                    for p in 0..3 {
                        let z: f64 = (0..3).map(|i| w[k * 3 + i] * x[p * 3 + i] as f64).sum();
                        f += sign * 0.5 * z.max(0.0).powi(power as i32);
                    }
                }
                0.5 * (-f - 1.0).powi(2)
            };
            let w64: [f64; 12] = W.map(|v| v as f64);
            for i in 0..12 {
                let (mut a, mut b) = (w64, w64);
                a[i] += 1e-6;
                b[i] -= 1e-6;
                let fd = (loss(&a) - loss(&b)) / 2e-6;
                assert!(
                    (fd - g[i] as f64).abs() <= 1e-5 * fd.abs().max(1.0),
                    "q={power} i={i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            M.forward(&W[..5], &[0.0; 9]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            PatchCnn { power: 0, ..M }.forward(&W, &[0.0; 9]),
            Err(Error::InvalidParam { name: "power", .. })
        ));
        assert!(matches!(
            M.square_loss_grad(&W, &[0.0; 9], f32::NAN, &mut [0.0; 12]),
            Err(Error::InvalidParam { name: "y", .. })
        ));
        assert!(stability_threshold(0, 1.0).is_err());
    }
}
