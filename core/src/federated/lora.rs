//! LoRA linear layer `h = W0 x + s B A x` (Hu et al. 2021) with the per-sample gradient identities
//! used for DP-SGD without materialising per-sample gradients.
//!
//! Shapes: `W0` is `d_out x d_in` (frozen), `A` is `r x d_in`, `B` is `d_out x r`, `s = alpha / r`,
//! all row-major. For one sample with `u = A x` and upstream gradient `g = dL/dh`:
//! `grad_B = s g u^T`, `grad_A = s (B^T g) x^T`, so `||grad_B||_F = s ||g|| ||u||` and
//! `||grad_A||_F = s ||B^T g|| ||x||` (rank-1 norms). Cost of a forward pass over `m` samples:
//! `2 m d_in d_out + 2 m r (d_in + d_out)` FLOPs.

use alloc::vec::Vec;

use crate::error::{check, Error, Result};

/// A LoRA-adapted dense layer in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraLinear {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// LoRA rank.
    pub r: usize,
    /// Scaling `s = alpha / r`.
    pub scale: f64,
    /// Frozen base weight (`d_out x d_in`).
    pub w0: Vec<f64>,
    /// Down-projection `A` (`r x d_in`).
    pub a: Vec<f64>,
    /// Up-projection `B` (`d_out x r`).
    pub b: Vec<f64>,
}

impl LoraLinear {
    /// A layer with base `w0` and factors `a`, `b`; `alpha > 0`, `1 <= r <= min(d_in, d_out)`.
    pub fn new(
        d_in: usize,
        d_out: usize,
        r: usize,
        alpha: f64,
        w0: Vec<f64>,
        a: Vec<f64>,
        b: Vec<f64>,
    ) -> Result<Self> {
        check::nonzero("d_in", d_in)?;
        check::nonzero("d_out", d_out)?;
        if r == 0 || r > d_in.min(d_out) {
            return Err(Error::invalid(
                "r",
                r as f64,
                "a rank in 1..=min(d_in, d_out)",
            ));
        }
        check::positive("lora_alpha", alpha)?;
        check::same_len("w0", d_out * d_in, w0.len())?;
        check::same_len("A", r * d_in, a.len())?;
        check::same_len("B", d_out * r, b.len())?;
        check::all_finite_f64("w0", &w0)?;
        check::all_finite_f64("A", &a)?;
        check::all_finite_f64("B", &b)?;
        Ok(Self {
            d_in,
            d_out,
            r,
            scale: alpha / r as f64,
            w0,
            a,
            b,
        })
    }

    /// `u = A x` (length `r`).
    pub fn project(&self, x: &[f64], u: &mut [f64]) {
        for (ui, arow) in u.iter_mut().zip(self.a.chunks_exact(self.d_in)) {
            *ui = arow.iter().zip(x).map(|(p, q)| p * q).sum();
        }
    }

    /// `h = W0 x + s B (A x)` for one sample; `u` receives `A x`.
    pub fn forward_one(&self, x: &[f64], u: &mut [f64], h: &mut [f64]) -> Result<()> {
        check::same_len("x", self.d_in, x.len())?;
        check::same_len("u", self.r, u.len())?;
        check::same_len("h", self.d_out, h.len())?;
        self.project(x, u);
        for (o, (wrow, brow)) in h.iter_mut().zip(
            self.w0
                .chunks_exact(self.d_in)
                .zip(self.b.chunks_exact(self.r)),
        ) {
            let base: f64 = wrow.iter().zip(x).map(|(p, q)| p * q).sum();
            let lora: f64 = brow.iter().zip(u.iter()).map(|(p, q)| p * q).sum();
            *o = base + self.scale * lora;
        }
        Ok(())
    }

    /// Effective weight `W0 + s B A` (`d_out x d_in`).
    pub fn effective_weight(&self) -> Vec<f64> {
        let mut w = self.w0.clone();
        for (i, row) in w.chunks_exact_mut(self.d_in).enumerate() {
            for k in 0..self.r {
                let bik = self.scale * self.b[i * self.r + k];
                let arow = &self.a[k * self.d_in..(k + 1) * self.d_in];
                row.iter_mut().zip(arow).for_each(|(o, a)| *o += bik * a);
            }
        }
        w
    }

    /// Squared Frobenius norm of one sample's gradient over the trainable set:
    /// `s^2 ||g||^2 ||u||^2` for `B`, plus `s^2 ||B^T g||^2 ||x||^2` when `A` is trained too.
    pub fn sample_grad_sq_norm(&self, x: &[f64], u: &[f64], g: &[f64], with_a: bool) -> f64 {
        let s2 = self.scale * self.scale;
        let g2: f64 = g.iter().map(|v| v * v).sum();
        let u2: f64 = u.iter().map(|v| v * v).sum();
        let mut norm2 = s2 * g2 * u2;
        if with_a {
            let btg2: f64 = (0..self.r)
                .map(|k| {
                    let c: f64 = self
                        .b
                        .chunks_exact(self.r)
                        .zip(g)
                        .map(|(row, gi)| row[k] * gi)
                        .sum();
                    c * c
                })
                .sum();
            norm2 += s2 * btg2 * x.iter().map(|v| v * v).sum::<f64>();
        }
        norm2
    }

    /// Adds `factor` times the per-sample gradients `grad_B = s g u^T` into `acc_b` (`d_out x r`)
    /// and, when `acc_a` is given, `grad_A = s (B^T g) x^T` into it (`r x d_in`).
    pub fn accumulate_sample_grad(
        &self,
        x: &[f64],
        u: &[f64],
        g: &[f64],
        factor: f64,
        acc_b: &mut [f64],
        acc_a: Option<&mut [f64]>,
    ) {
        let c = factor * self.scale;
        for (row, &gi) in acc_b.chunks_exact_mut(self.r).zip(g) {
            row.iter_mut().zip(u).for_each(|(o, uk)| *o += c * gi * uk);
        }
        if let Some(acc_a) = acc_a {
            for (k, row) in acc_a.chunks_exact_mut(self.d_in).enumerate() {
                let btg: f64 = self
                    .b
                    .chunks_exact(self.r)
                    .zip(g)
                    .map(|(brow, gi)| brow[k] * gi)
                    .sum();
                row.iter_mut().zip(x).for_each(|(o, xj)| *o += c * btg * xj);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn case() -> LoraLinear {
        // Spec 14 oracle 2: A (2 x 4), B (3 x 2), s = 2 (alpha 4, r 2), W0 = 0.
        LoraLinear::new(
            4,
            3,
            2,
            4.0,
            vec![0.0; 12],
            vec![1., 0., 2., 0., 0., 1., 0., -1.],
            vec![1., 2., 0., 1., 3., -1.],
        )
        .unwrap()
    }

    #[test]
    fn per_sample_norm_of_b_matches_spec_oracle() {
        let l = case();
        let x = [1., -2., 0.5, 3.];
        let g = [0.5, -1., 2.];
        let mut u = [0.0; 2];
        l.project(&x, &mut u);
        let mut acc_b = [0.0; 6];
        let n2 = l.sample_grad_sq_norm(&x, &u, &g, false);
        l.accumulate_sample_grad(&x, &u, &g, 1.0, &mut acc_b, None);
        // ||grad_B||_F with the original (non-orthonormal) A = 24.677925358506133.
        assert!((n2.sqrt() - 24.677_925_358_506_133).abs() < 1e-12);
        let fro: f64 = acc_b.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((fro - n2.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn joint_norm_equals_materialised_gradients_and_forward_is_consistent() {
        let l = case();
        let x = [0.3, -1.0, 2.0, 0.7];
        let g = [1.0, 0.25, -0.5];
        let mut u = [0.0; 2];
        let mut h = [0.0; 3];
        l.forward_one(&x, &mut u, &mut h).unwrap();
        let w = l.effective_weight();
        for i in 0..3 {
            let direct: f64 = (0..4).map(|j| w[i * 4 + j] * x[j]).sum();
            assert!((direct - h[i]).abs() < 1e-12);
        }
        let (mut gb, mut ga) = ([0.0; 6], [0.0; 8]);
        let n2 = l.sample_grad_sq_norm(&x, &u, &g, true);
        l.accumulate_sample_grad(&x, &u, &g, 1.0, &mut gb, Some(&mut ga));
        let sum2: f64 = gb.iter().chain(ga.iter()).map(|v| v * v).sum();
        assert!((n2 - sum2).abs() < 1e-10 * sum2);
    }

    #[test]
    fn orthonormal_a_bounds_the_gradient_of_b() {
        // Spec 14 oracle 2: after the FedSVD refactor of case 1, s = 2, the per-sample norm of
        // grad_B is 16.712270940838646 <= s ||g|| ||x|| = 17.298843892006193.
        let l = case();
        let f = crate::federated::svd_refactor(&l.b, &l.a, 3, 4, 2).unwrap();
        let l2 = LoraLinear::new(4, 3, 2, 4.0, l.w0.clone(), f.a, f.b).unwrap();
        let (x, g) = ([1., -2., 0.5, 3.], [0.5, -1., 2.]);
        let mut u = [0.0; 2];
        l2.project(&x, &mut u);
        let n = l2.sample_grad_sq_norm(&x, &u, &g, false).sqrt();
        assert!((n - 16.712_270_940_838_646).abs() < 1e-11, "{n}");
        assert!(n <= 17.298_843_892_006_193);
    }

    #[test]
    fn bad_rank_and_scale_are_typed_errors() {
        let mk = |r: usize, alpha: f64| {
            LoraLinear::new(
                4,
                3,
                r,
                alpha,
                vec![0.0; 12],
                vec![0.0; r * 4],
                vec![0.0; 3 * r],
            )
        };
        assert!(matches!(
            mk(0, 1.0),
            Err(Error::InvalidParam { name: "r", .. })
        ));
        assert!(matches!(
            mk(4, 1.0),
            Err(Error::InvalidParam { name: "r", .. })
        ));
        assert!(matches!(
            mk(2, 0.0),
            Err(Error::InvalidParam {
                name: "lora_alpha",
                ..
            })
        ));
    }
}
