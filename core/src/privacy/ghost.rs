//! Per-sample gradient norms and clipped sums of dense layers without materialising per-sample
//! gradients ("ghost clipping").
//!
//! Goodfellow, "Efficient Per-Example Gradient Computations", 2015, arXiv 1510.01799; Li et al.,
//! "Large Language Models Can Be Strong Differentially Private Learners", 2021, arXiv 2110.05679.
//! For a dense layer `z = a W^T + b` with one position per sample, sample `i`'s weight gradient is
//! the outer product `g_i a_i^T`, so `||grad W_i||_F^2 = ||a_i||^2 ||g_i||^2` and
//! `||grad b_i||^2 = ||g_i||^2`. The clipped sum is `sum_i f_i g_i a_i^T = (diag(f) G)^T A` — one
//! gemm per layer, with `f_i = min(1, C / ||grad_i||)` over the whole model (flat clipping).
//! Cost per layer: O(B (d_in + d_out)) for norms, one B x d_out x d_in gemm for the sum; memory
//! O(B d_out) scratch instead of O(B d_in d_out) per-sample gradients.

use super::clip::{clip_factor, ClipStats, NanPolicy};
use crate::error::{check, Error, Result};

/// `out[i] += (||a_i||^2 + bias) ||g_i||^2` for a dense layer (`a` is `batch x d_in`, `g` is
/// `batch x d_out`; `bias = 1` counts the bias gradient, `0` leaves it out).
pub fn linear_sq_norms(
    a: &[f32],
    g: &[f32],
    batch: usize,
    d_in: usize,
    d_out: usize,
    bias: bool,
    out: &mut [f32],
) -> Result<()> {
    check::same_len("linear input", batch * d_in, a.len())?;
    check::same_len("linear output gradient", batch * d_out, g.len())?;
    check::same_len("per-sample norms", batch, out.len())?;
    if d_in == 0 || d_out == 0 {
        return Err(Error::invalid("layer width", 0.0, "an integer >= 1"));
    }
    let b = if bias { 1.0 } else { 0.0 };
    for ((o, ai), gi) in out
        .iter_mut()
        .zip(a.chunks_exact(d_in))
        .zip(g.chunks_exact(d_out))
    {
        let a2: f32 = ai.iter().map(|v| v * v).sum();
        let g2: f32 = gi.iter().map(|v| v * v).sum();
        *o += (a2 + b) * g2;
    }
    Ok(())
}

/// Clip factors from per-sample squared norms: `f_i = min(1, C/||.||)`; non-finite norms follow
/// `policy` (drop = factor 0, counted).
pub fn factors_from_sq_norms(
    sq: &[f32],
    clip: f32,
    policy: NanPolicy,
    factors: &mut [f32],
) -> Result<ClipStats> {
    super::clip::check_clip(clip as f64)?;
    check::same_len("clip factors", sq.len(), factors.len())?;
    let mut st = ClipStats::default();
    for (i, (f, &s)) in factors.iter_mut().zip(sq).enumerate() {
        if !s.is_finite() {
            match policy {
                NanPolicy::Error => {
                    return Err(Error::NonFinite {
                        what: "per-sample gradient (sample index)",
                        index: i,
                    })
                }
                NanPolicy::Drop => {
                    *f = 0.0;
                    st.dropped += 1;
                    continue;
                }
            }
        }
        let c = clip_factor(libm::sqrt(s as f64), clip as f64);
        st.clipped += usize::from(c < 1.0);
        st.used += 1;
        *f = c as f32;
    }
    Ok(st)
}

#[cfg(feature = "alloc")]
mod mlp_dp {
    use alloc::vec::Vec;

    use super::*;
    use crate::backend::{gemm_slices, Transpose};
    use crate::models::mlp::{Mlp, MlpCache};
    use crate::rng::NoiseKey;

    /// Workspace of [`mlp_dp_gradient`] (allocated once per run, reused every step).
    #[derive(Debug, Default, Clone)]
    pub struct GhostWorkspace {
        /// Per-sample squared norms.
        pub sq_norms: Vec<f32>,
        /// Per-sample clip factors.
        pub factors: Vec<f32>,
        scaled: Vec<f32>,
        g_cur: Vec<f32>,
        g_prev: Vec<f32>,
    }

    /// Per-sample squared gradient norms of the whole MLP from a FORWARD cache and per-sample
    /// output gradients `d_out` (`batch x output_dim`), into `ws.sq_norms`: the output gradients are
    /// propagated down (`G_{l-1} = (G_l W_l) * act'`) without any weight-gradient gemm.
    pub fn mlp_ghost_sq_norms(
        mlp: &Mlp,
        cache: &MlpCache,
        d_out: &[f32],
        ws: &mut GhostWorkspace,
    ) -> Result<()> {
        let batch = cache.batch;
        check::same_len("mlp output gradient", batch * mlp.output_dim(), d_out.len())?;
        if cache.inputs.len() != mlp.layers.len() || cache.pre.len() != mlp.layers.len() {
            return Err(Error::invalid(
                "cache",
                0.0,
                "the cache of a forward pass of this model",
            ));
        }
        ws.sq_norms.clear();
        ws.sq_norms.resize(batch, 0.0);
        ws.g_cur.clear();
        ws.g_cur.extend_from_slice(d_out);
        for l in (0..mlp.layers.len()).rev() {
            let s = mlp.layers[l];
            let a = &cache.inputs[l];
            linear_sq_norms(
                a,
                &ws.g_cur,
                batch,
                s.fan_in,
                s.fan_out,
                true,
                &mut ws.sq_norms,
            )?;
            if l > 0 {
                ws.g_prev.resize(batch * s.fan_in, 0.0);
                let w = mlp.weight(l).ok_or(Error::invalid(
                    "layer",
                    l as f64,
                    "a layer of this model",
                ))?;
                gemm_slices(
                    Transpose::No,
                    Transpose::No,
                    batch,
                    s.fan_in,
                    s.fan_out,
                    1.0,
                    &ws.g_cur,
                    w,
                    0.0,
                    &mut ws.g_prev,
                )?;
                for ((d, &z), &act) in ws.g_prev.iter_mut().zip(&cache.pre[l - 1]).zip(a) {
                    *d *= mlp.activation.derivative(z, act);
                }
                core::mem::swap(&mut ws.g_cur, &mut ws.g_prev);
            }
        }
        Ok(())
    }

    /// The whole DP-SGD gradient of an MLP with ONE backward pass: ghost norms from the forward
    /// cache ([`mlp_ghost_sq_norms`]), clip factors, then the backward pass seeded with the scaled
    /// per-sample output gradients `f_i dl_i/d out` (the per-sample gradient is linear in it), so
    /// `grads = (sum_i f_i grad_i + z C xi) / m`. `d_out` holds PER-SAMPLE loss gradients.
    #[allow(clippy::too_many_arguments)]
    pub fn mlp_dp_step(
        mlp: &Mlp,
        cache: &mut MlpCache,
        d_out: &[f32],
        clip: f32,
        z: f32,
        expected_batch: f32,
        policy: NanPolicy,
        key: &NoiseKey,
        ws: &mut GhostWorkspace,
        grads: &mut [f32],
    ) -> Result<ClipStats> {
        crate::privacy::dpsgd::check_noise(z as f64)?;
        crate::privacy::dpsgd::check_expected_batch(expected_batch as f64)?;
        mlp_ghost_sq_norms(mlp, cache, d_out, ws)?;
        let batch = cache.batch;
        ws.factors.resize(batch, 0.0);
        let stats = factors_from_sq_norms(&ws.sq_norms, clip, policy, &mut ws.factors)?;
        let k = mlp.output_dim();
        ws.scaled.resize(batch * k, 0.0);
        for ((dst, src), &f) in ws
            .scaled
            .chunks_exact_mut(k)
            .zip(d_out.chunks_exact(k))
            .zip(&ws.factors)
        {
            if f == 0.0 {
                dst.fill(0.0);
            } else {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d = f * v);
            }
        }
        mlp.backward(cache, &ws.scaled, grads)?;
        if z > 0.0 {
            crate::rng::bulk::add_normal_f32(key, z * clip, grads);
        }
        let inv = 1.0 / expected_batch;
        grads.iter_mut().for_each(|v| *v *= inv);
        Ok(stats)
    }

    /// DP-SGD gradient of an MLP from a cache after `forward` and `backward`, where the backward
    /// pass was seeded with PER-SAMPLE loss gradients (`d_out` rows = `dl_i/d output`, not divided
    /// by the batch): `grads = (sum_i f_i grad_i + z C xi) / m`, the clipped sum computed layer by
    /// layer as `(diag(f) G_l)^T A_l`, noise from `key`.
    #[allow(clippy::too_many_arguments)]
    pub fn mlp_dp_gradient(
        mlp: &Mlp,
        cache: &MlpCache,
        clip: f32,
        z: f32,
        expected_batch: f32,
        policy: NanPolicy,
        key: &NoiseKey,
        ws: &mut GhostWorkspace,
        grads: &mut [f32],
    ) -> Result<ClipStats> {
        crate::privacy::dpsgd::check_noise(z as f64)?;
        crate::privacy::dpsgd::check_expected_batch(expected_batch as f64)?;
        check::same_len("mlp grads", mlp.params.len(), grads.len())?;
        let batch = cache.batch;
        ws.sq_norms.resize(batch, 0.0);
        ws.factors.resize(batch, 0.0);
        mlp.per_sample_sq_norms(cache, &mut ws.sq_norms)?;
        let stats = factors_from_sq_norms(&ws.sq_norms, clip, policy, &mut ws.factors)?;
        for (l, s) in mlp.layers.iter().enumerate() {
            let g = cache.out_grads.get(l).ok_or(Error::invalid(
                "cache",
                0.0,
                "the cache of a backward pass",
            ))?;
            let a = cache.inputs.get(l).ok_or(Error::invalid(
                "cache",
                0.0,
                "the cache of a forward pass",
            ))?;
            ws.scaled.resize(batch * s.fan_out, 0.0);
            for ((dst, src), &f) in ws
                .scaled
                .chunks_exact_mut(s.fan_out)
                .zip(g.chunks_exact(s.fan_out))
                .zip(&ws.factors)
            {
                if f == 0.0 {
                    dst.fill(0.0);
                } else {
                    dst.iter_mut().zip(src).for_each(|(d, &v)| *d = f * v);
                }
            }
            let (gw, gb) =
                grads[s.w_offset..s.b_offset + s.fan_out].split_at_mut(s.fan_in * s.fan_out);
            gemm_slices(
                Transpose::Yes,
                Transpose::No,
                s.fan_out,
                s.fan_in,
                batch,
                1.0,
                &ws.scaled,
                a,
                0.0,
                gw,
            )?;
            gb.fill(0.0);
            for row in ws.scaled.chunks_exact(s.fan_out) {
                gb.iter_mut().zip(row).for_each(|(o, v)| *o += v);
            }
        }
        if z > 0.0 {
            crate::rng::bulk::add_normal_f32(key, z * clip, grads);
        }
        let inv = 1.0 / expected_batch;
        grads.iter_mut().for_each(|v| *v *= inv);
        Ok(stats)
    }
}

#[cfg(feature = "alloc")]
pub use mlp_dp::{mlp_dp_gradient, mlp_dp_step, mlp_ghost_sq_norms, GhostWorkspace};

#[cfg(all(test, feature = "alloc"))]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::models::loss::softmax_cross_entropy;
    use crate::models::mlp::{Activation, Init, Mlp, MlpCache};
    use crate::privacy::{dp_sgd_step, NanPolicy};
    use crate::rng::{seq, NoiseKey};

    #[test]
    fn linear_ghost_norm_equals_outer_product_norm() {
        let a = [1.0f32, 2.0, -1.0, 0.5, 0.0, 3.0];
        let g = [0.5f32, -2.0, 1.0, 1.0];
        let mut out = [0f32; 2];
        linear_sq_norms(&a, &g, 2, 3, 2, true, &mut out).unwrap();
        for i in 0..2 {
            let mut s = 0f32;
            for o in 0..2 {
                for j in 0..3 {
                    s += (g[i * 2 + o] * a[i * 3 + j]).powi(2);
                }
                s += g[i * 2 + o].powi(2);
            }
            assert!((out[i] - s).abs() < 1e-5 * s);
        }
    }

    #[test]
    fn mlp_ghost_step_equals_materialised_per_sample_step() {
        let mut rng = seq::default_rng(1);
        let mlp = Mlp::new(
            &[5, 4, 3],
            Activation::Relu,
            Init::Normal { std: 0.7 },
            &mut rng,
        )
        .unwrap();
        let batch = 6;
        let x: Vec<f32> = (0..batch * 5)
            .map(|_| seq::normal(&mut rng) as f32)
            .collect();
        let y: Vec<usize> = (0..batch).map(|i| i % 3).collect();
        let p = mlp.params.len();
        // Materialised per-sample gradients, one sample at a time.
        let mut per = vec![0f32; batch * p];
        for i in 0..batch {
            let mut c = MlpCache::default();
            let logits = mlp
                .forward(&x[i * 5..(i + 1) * 5], 1, &mut c)
                .unwrap()
                .to_vec();
            let mut d = vec![0f32; 3];
            softmax_cross_entropy(&logits, &y[i..i + 1], 3, &mut d).unwrap();
            mlp.backward(&mut c, &d, &mut per[i * p..(i + 1) * p])
                .unwrap();
        }
        let key = NoiseKey::new(3, 4);
        let mut want = vec![0f32; p];
        dp_sgd_step(
            &per,
            batch,
            0.5,
            1.0,
            4.0,
            NanPolicy::Error,
            &key,
            &mut want,
        )
        .unwrap();
        // Ghost path on the whole batch, per-sample (un-averaged) output gradients.
        let mut c = MlpCache::default();
        let logits = mlp.forward(&x, batch, &mut c).unwrap().to_vec();
        let mut d = vec![0f32; batch * 3];
        softmax_cross_entropy(&logits, &y, 3, &mut d).unwrap();
        d.iter_mut().for_each(|v| *v *= batch as f32);
        let mut scratch = vec![0f32; p];
        mlp.backward(&mut c, &d, &mut scratch).unwrap();
        let mut ws = GhostWorkspace::default();
        let mut got = vec![0f32; p];
        mlp_dp_gradient(
            &mlp,
            &c,
            0.5,
            1.0,
            4.0,
            NanPolicy::Error,
            &key,
            &mut ws,
            &mut got,
        )
        .unwrap();
        for j in 0..p {
            assert!(
                (got[j] - want[j]).abs() < 1e-5,
                "param {j}: {} vs {}",
                got[j],
                want[j]
            );
        }
    }
}
