//! NMTune's learnable feature transform: a residual MLP on frozen features with a per-feature scale.
//!
//! Paper: H. Chen et al., "Understanding and Mitigating the Label Noise in Pre-training on Downstream
//! Tasks", ICLR 2024, arXiv 2309.17002 (code `src/models/modeling.py::ImageEncoderMLP` with
//! `--mlp-with-res --mlp-res-scale-init=1.0 --mlp-after-ratio=4 --mlp-after-layers=1`; spec 15 §2).
//!
//! ```text
//! g = ReLU(f W1^T + b1) W2^T + b2        W1: H x D, W2: D x H (an [`Mlp`] D -> H -> D)
//! z = s * g + f                          s: per-feature scale, init 1
//! dL/ds_j = sum_b g_bj dL/dz_bj,  dL/dg = s * dL/dz  (then the MLP's backward)
//! ```
//! BatchNorm (the code's default between the two layers) is not implemented; the spec's synthetic
//! reproduction runs without it. Cost: two gemms forward (2 B D H multiply-adds), three backward.
//! Feature `alloc`.

use alloc::vec::Vec;

use rand_core::Rng;

use crate::error::{check, Result};
use crate::models::{Activation, Init, Mlp, MlpCache};

/// The residual transform `f -> z`.
#[derive(Debug, Clone)]
pub struct ResidualMlp {
    /// The inner MLP `D -> H -> D` (ReLU).
    pub mlp: Mlp,
    /// Per-feature scale `s` (length D).
    pub scale: Vec<f32>,
}

/// What [`ResidualMlp::forward`] keeps for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct ResidualCache {
    /// The inner MLP's cache.
    pub mlp: MlpCache,
    /// `g` (batch x D).
    pub g: Vec<f32>,
    /// `z` (batch x D).
    pub z: Vec<f32>,
}

impl ResidualMlp {
    /// A transform for `d` features with `hidden` units: PyTorch-default init of both layers, then
    /// `W2` and `b2` multiplied by `w2_scale` (the spec's reproduction uses 0.1), `s = 1`.
    pub fn new<R: Rng + ?Sized>(
        rng: &mut R,
        d: usize,
        hidden: usize,
        w2_scale: f32,
    ) -> Result<Self> {
        check::finite("w2_scale", w2_scale as f64)?;
        let mut mlp = Mlp::new(&[d, hidden, d], Activation::Relu, Init::TorchDefault, rng)?;
        if let Some(l2) = mlp.layers.get(1).copied() {
            mlp.params[l2.w_offset..l2.b_offset + l2.fan_out]
                .iter_mut()
                .for_each(|w| *w *= w2_scale);
        }
        Ok(Self {
            mlp,
            scale: alloc::vec![1.0; d],
        })
    }

    /// Feature width `D`.
    pub fn dim(&self) -> usize {
        self.scale.len()
    }

    /// `z` for a `batch x D` feature matrix `f` (kept in `cache.z`).
    pub fn forward<'c>(
        &self,
        f: &[f32],
        batch: usize,
        cache: &'c mut ResidualCache,
    ) -> Result<&'c [f32]> {
        let d = self.dim();
        check::same_len("residual transform input", batch * d, f.len())?;
        let g = self.mlp.forward(f, batch, &mut cache.mlp)?;
        cache.g.clear();
        cache.g.extend_from_slice(g);
        cache.z.clear();
        cache.z.extend(
            cache
                .g
                .chunks_exact(d)
                .zip(f.chunks_exact(d))
                .flat_map(|(gr, fr)| {
                    gr.iter()
                        .zip(fr)
                        .zip(&self.scale)
                        .map(|((g, f), s)| s * g + f)
                }),
        );
        Ok(&cache.z)
    }

    /// Backward from `dz = dL/dz`: writes the inner MLP's parameter gradients into `grad_mlp`
    /// (length `mlp.num_params()`) and `dL/ds` into `grad_scale` (length D).
    pub fn backward(
        &self,
        cache: &mut ResidualCache,
        dz: &[f32],
        grad_mlp: &mut [f32],
        grad_scale: &mut [f32],
    ) -> Result<()> {
        let d = self.dim();
        check::same_len("dL/dz", cache.z.len(), dz.len())?;
        check::same_len("dL/ds", d, grad_scale.len())?;
        grad_scale.fill(0.0);
        let mut dg = Vec::with_capacity(dz.len());
        for (gr, dr) in cache.g.chunks_exact(d).zip(dz.chunks_exact(d)) {
            for j in 0..d {
                grad_scale[j] += gr[j] * dr[j];
                dg.push(self.scale[j] * dr[j]);
            }
        }
        self.mlp.backward(&mut cache.mlp, &dg, grad_mlp)
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::default_rng;
    use alloc::vec;

    /// Loss = sum_bj c_bj z_bj for fixed c: dL/dz = c. Finite differences on every parameter.
    #[test]
    fn gradients_match_finite_differences() {
        let (d, h, b) = (3, 5, 4);
        let mut rng = default_rng(1);
        let mut t = ResidualMlp::new(&mut rng, d, h, 0.5).unwrap();
        t.scale = vec![0.7, 1.3, -0.4];
        let f: Vec<f32> = (0..b * d)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let c: Vec<f32> = (0..b * d)
            .map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0)
            .collect();
        let loss = |t: &ResidualMlp| -> f64 {
            let mut cache = ResidualCache::default();
            let z = t.forward(&f, b, &mut cache).unwrap();
            z.iter()
                .zip(&c)
                .map(|(a, b)| (*a as f64) * (*b as f64))
                .sum()
        };
        let mut cache = ResidualCache::default();
        t.forward(&f, b, &mut cache).unwrap();
        let mut gm = vec![0f32; t.mlp.num_params()];
        let mut gs = vec![0f32; d];
        t.backward(&mut cache, &c, &mut gm, &mut gs).unwrap();
        let h_step = 1e-2f32;
        for i in 0..t.mlp.num_params() {
            let (mut tp, mut tm) = (t.clone(), t.clone());
            tp.mlp.params[i] += h_step;
            tm.mlp.params[i] -= h_step;
            let fd = (loss(&tp) - loss(&tm)) / (2.0 * h_step as f64);
            assert!(
                (fd - gm[i] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "param {i}: {fd} vs {}",
                gm[i]
            );
        }
        for j in 0..d {
            let (mut tp, mut tm) = (t.clone(), t.clone());
            tp.scale[j] += h_step;
            tm.scale[j] -= h_step;
            let fd = (loss(&tp) - loss(&tm)) / (2.0 * h_step as f64);
            assert!(
                (fd - gs[j] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "scale {j}: {fd} vs {}",
                gs[j]
            );
        }
    }

    #[test]
    fn zero_w2_is_identity_and_bad_input() {
        let mut rng = default_rng(2);
        let t = ResidualMlp::new(&mut rng, 3, 4, 0.0).unwrap();
        let f = [1.0f32, -2.0, 0.5, 3.0, 0.0, -1.0];
        let mut cache = ResidualCache::default();
        assert_eq!(t.forward(&f, 2, &mut cache).unwrap(), &f);
        assert!(t.forward(&f[..5], 2, &mut cache).is_err());
        assert!(ResidualMlp::new(&mut rng, 0, 4, 0.1).is_err());
        assert!(ResidualMlp::new(&mut rng, 3, 4, f32::NAN).is_err());
    }
}
