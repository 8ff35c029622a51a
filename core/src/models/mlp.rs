//! Multi-layer perceptron with hand-written backward.
//!
//! Layer `l` computes `z_l = a_{l-1} W_l^T + b_l` (`W_l` is `fan_out x fan_in`, row-major) and
//! `a_l = act(z_l)` for hidden layers; the last layer is linear (logits). Batches are row-major
//! `batch x features`. The forward pass caches every layer's input `a_{l-1}` and pre-activation;
//! the backward pass also keeps every layer's output gradient `dL/dz_l`, so per-sample gradient
//! norms of a dense layer are available without materialising per-sample gradients
//! (`||grad W_i||^2 = ||a_i||^2 ||g_i||^2`, `||grad b_i||^2 = ||g_i||^2`, the "ghost norm").
//! Cost: two gemms per layer forward, two backward (plus one for the input gradient).

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

use crate::backend::{gemm_slices, Transpose};
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `x` (a deep linear network).
    Identity,
}

impl Activation {
    /// `act(x)`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => libm::tanhf(x),
            Activation::Identity => x,
        }
    }

    /// Derivative expressed with the pre-activation `z` and the activation `a = act(z)`.
    #[inline]
    pub fn derivative(self, z: f32, a: f32) -> f32 {
        match self {
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Identity => 1.0,
        }
    }
}

/// Weight initialisation. Biases start at zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// He/Kaiming normal: `N(0, 2 / fan_in)`.
    He,
    /// Glorot/Xavier normal: `N(0, 2 / (fan_in + fan_out))`.
    Glorot,
    /// `N(0, std^2)` for every weight (e.g. the "poor" init `std = 0.1` of Neelakantan et al. 2015).
    Normal {
        /// Standard deviation.
        std: f32,
    },
    /// PyTorch's `nn.Linear` default: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` for weights and biases.
    TorchDefault,
    /// `torch.nn.init.kaiming_uniform_` with its defaults (`a = 0`, fan-in, ReLU gain):
    /// `U(-sqrt(6/fan_in), sqrt(6/fan_in))` for weights, biases 0 (the NMTune head, spec 15).
    KaimingUniform,
}

/// Where one dense layer's parameters live in the flat parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Input features.
    pub fan_in: usize,
    /// Output features.
    pub fan_out: usize,
    /// Offset of `W` (`fan_out x fan_in`).
    pub w_offset: usize,
    /// Offset of `b` (`fan_out`).
    pub b_offset: usize,
}

/// A dense MLP with flat parameters.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// Every weight and bias, layer by layer (`W_1, b_1, W_2, b_2, ...`).
    pub params: Vec<f32>,
    /// Layer shapes and offsets into `params`.
    pub layers: Vec<LayerShape>,
    /// Hidden non-linearity.
    pub activation: Activation,
}

/// What the forward pass keeps for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct MlpCache {
    /// Batch size of the last forward pass.
    pub batch: usize,
    /// `inputs[l]`: input of layer `l` (`batch x fan_in`).
    pub inputs: Vec<Vec<f32>>,
    /// `pre[l]`: pre-activation of layer `l` (`batch x fan_out`); the last one holds the output.
    pub pre: Vec<Vec<f32>>,
    /// `out_grads[l]`: `dL/dz_l` (`batch x fan_out`), filled by the backward pass.
    pub out_grads: Vec<Vec<f32>>,
}

impl Mlp {
    /// An MLP with layer widths `sizes = [d_in, h_1, ..., d_out]`.
    pub fn new<R: Rng + ?Sized>(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut R,
    ) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::invalid(
                "sizes",
                sizes.len() as f64,
                "at least two widths (input and output)",
            ));
        }
        for &s in sizes {
            check::nonzero("layer width", s)?;
        }
        if let Init::Normal { std } = init {
            check::non_negative("init std", std as f64)?;
        }
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        let mut offset = 0;
        for pair in sizes.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            layers.push(LayerShape {
                fan_in,
                fan_out,
                w_offset: offset,
                b_offset: offset + fan_in * fan_out,
            });
            offset += fan_in * fan_out + fan_out;
        }
        let mut params = vec![0f32; offset];
        for l in &layers {
            let (fi, fo) = (l.fan_in as f32, l.fan_out as f32);
            let w = &mut params[l.w_offset..l.b_offset];
            match init {
                Init::He => seq::fill_gaussian_f32(rng, libm::sqrtf(2.0 / fi), w)?,
                Init::Glorot => seq::fill_gaussian_f32(rng, libm::sqrtf(2.0 / (fi + fo)), w)?,
                Init::Normal { std } => seq::fill_gaussian_f32(rng, std, w)?,
                Init::TorchDefault => {
                    let bound = 1.0 / libm::sqrtf(fi);
                    let end = l.b_offset + l.fan_out;
                    for p in &mut params[l.w_offset..end] {
                        *p = bound * (2.0 * seq::uniform(rng) as f32 - 1.0);
                    }
                }
                Init::KaimingUniform => {
                    let bound = libm::sqrtf(6.0 / fi);
                    for p in w {
                        *p = bound * (2.0 * seq::uniform(rng) as f32 - 1.0);
                    }
                }
            }
        }
        Ok(Self {
            params,
            layers,
            activation,
        })
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.fan_in)
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.layers.last().map_or(0, |l| l.fan_out)
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// `W_l` (`fan_out x fan_in`).
    pub fn weight(&self, l: usize) -> Option<&[f32]> {
        let s = self.layers.get(l)?;
        self.params.get(s.w_offset..s.b_offset)
    }

    /// Forward pass over a `batch x input_dim` matrix; returns the `batch x output_dim` outputs
    /// (also kept in `cache.pre.last()`).
    pub fn forward<'c>(
        &self,
        x: &[f32],
        batch: usize,
        cache: &'c mut MlpCache,
    ) -> Result<&'c [f32]> {
        check::nonzero("batch", batch)?;
        check::same_len("mlp input", batch * self.input_dim(), x.len())?;
        let n_layers = self.layers.len();
        cache.batch = batch;
        cache.inputs.resize_with(n_layers, Vec::new);
        cache.pre.resize_with(n_layers, Vec::new);
        for (l, s) in self.layers.iter().enumerate() {
            let input_len = batch * s.fan_in;
            let mut input = core::mem::take(&mut cache.inputs[l]);
            input.resize(input_len, 0.0);
            if l == 0 {
                input.copy_from_slice(x);
            } else {
                let prev = &cache.pre[l - 1];
                for (a, &z) in input.iter_mut().zip(prev) {
                    *a = self.activation.apply(z);
                }
            }
            let z = &mut cache.pre[l];
            z.resize(batch * s.fan_out, 0.0);
            let b = &self.params[s.b_offset..s.b_offset + s.fan_out];
            for row in z.chunks_exact_mut(s.fan_out) {
                row.copy_from_slice(b);
            }
            let w = &self.params[s.w_offset..s.b_offset];
            gemm_slices(
                Transpose::No,
                Transpose::Yes,
                batch,
                s.fan_out,
                s.fan_in,
                1.0,
                &input,
                w,
                1.0,
                z,
            )?;
            cache.inputs[l] = input;
        }
        Ok(cache.pre.last().map_or(&[][..], Vec::as_slice))
    }

    /// Backward pass from `d_out = dL/d(output)` (`batch x output_dim`): writes `dL/dparams`
    /// (summed over the batch) into `grads` (length `num_params`) and keeps each layer's
    /// `dL/dz_l` in `cache.out_grads`. Returns nothing else; call after [`Mlp::forward`].
    pub fn backward(&self, cache: &mut MlpCache, d_out: &[f32], grads: &mut [f32]) -> Result<()> {
        let batch = cache.batch;
        check::same_len("mlp grads", self.params.len(), grads.len())?;
        check::same_len(
            "mlp output gradient",
            batch * self.output_dim(),
            d_out.len(),
        )?;
        if cache.pre.len() != self.layers.len() {
            return Err(Error::invalid(
                "cache",
                0.0,
                "the cache of a forward pass of this model",
            ));
        }
        let n_layers = self.layers.len();
        cache.out_grads.resize_with(n_layers, Vec::new);
        cache.out_grads[n_layers - 1].clear();
        cache.out_grads[n_layers - 1].extend_from_slice(d_out);
        for l in (0..n_layers).rev() {
            let s = self.layers[l];
            let g = &cache.out_grads[l];
            let input = &cache.inputs[l];
            // dW = g^T a  (fan_out x fan_in), db = column sums of g.
            let (gw, gb) =
                grads[s.w_offset..s.b_offset + s.fan_out].split_at_mut(s.fan_in * s.fan_out);
            gemm_slices(
                Transpose::Yes,
                Transpose::No,
                s.fan_out,
                s.fan_in,
                batch,
                1.0,
                g,
                input,
                0.0,
                gw,
            )?;
            gb.fill(0.0);
            for row in g.chunks_exact(s.fan_out) {
                gb.iter_mut().zip(row).for_each(|(o, v)| *o += v);
            }
            if l > 0 {
                // dL/da_{l-1} = g W, then through the activation of layer l-1.
                let mut prev = core::mem::take(&mut cache.out_grads[l - 1]);
                prev.resize(batch * s.fan_in, 0.0);
                let w = &self.params[s.w_offset..s.b_offset];
                gemm_slices(
                    Transpose::No,
                    Transpose::No,
                    batch,
                    s.fan_in,
                    s.fan_out,
                    1.0,
                    &cache.out_grads[l],
                    w,
                    0.0,
                    &mut prev,
                )?;
                for ((d, &z), &a) in prev.iter_mut().zip(&cache.pre[l - 1]).zip(input) {
                    *d *= self.activation.derivative(z, a);
                }
                cache.out_grads[l - 1] = prev;
            }
        }
        Ok(())
    }

    /// Per-sample squared gradient norms of the whole model, from the cache of a backward pass
    /// (ghost norms: `sum_l ||a_{l,i}||^2 ||g_{l,i}||^2 + ||g_{l,i}||^2`). `out` has `batch` entries.
    pub fn per_sample_sq_norms(&self, cache: &MlpCache, out: &mut [f32]) -> Result<()> {
        check::same_len("per-sample norms", cache.batch, out.len())?;
        if cache.out_grads.len() != self.layers.len() {
            return Err(Error::invalid(
                "cache",
                0.0,
                "the cache of a backward pass of this model",
            ));
        }
        out.fill(0.0);
        for (l, s) in self.layers.iter().enumerate() {
            let a_rows = cache.inputs[l].chunks_exact(s.fan_in);
            let g_rows = cache.out_grads[l].chunks_exact(s.fan_out);
            for ((o, a), g) in out.iter_mut().zip(a_rows).zip(g_rows) {
                let a2: f32 = a.iter().map(|v| v * v).sum();
                let g2: f32 = g.iter().map(|v| v * v).sum();
                *o += (a2 + 1.0) * g2;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::loss::softmax_cross_entropy;

    fn loss_of(m: &Mlp, x: &[f32], y: &[usize], batch: usize) -> f64 {
        let mut cache = MlpCache::default();
        let out = m.forward(x, batch, &mut cache).unwrap().to_vec();
        let mut d = vec![0f32; out.len()];
        softmax_cross_entropy(&out, y, m.output_dim(), &mut d).unwrap() as f64
    }

    #[test]
    fn forward_matches_hand_computation() {
        let mut rng = seq::default_rng(0);
        let mut m = Mlp::new(&[2, 2, 1], Activation::Relu, Init::He, &mut rng).unwrap();
        // W1 = [[1, -1], [2, 0.5]], b1 = [0, -1], W2 = [[1, 2]], b2 = [0.5]
        m.params = vec![1., -1., 2., 0.5, 0., -1., 1., 2., 0.5];
        let mut cache = MlpCache::default();
        // x = (1, 2): z1 = (-1, 2), a1 = (0, 2), out = 0 + 4 + 0.5
        let out = m.forward(&[1., 2.], 1, &mut cache).unwrap();
        assert_eq!(out, &[4.5]);
    }

    #[test]
    fn gradients_match_finite_differences_for_every_activation() {
        for act in [Activation::Relu, Activation::Tanh, Activation::Identity] {
            let mut rng = seq::default_rng(3);
            let mut m = Mlp::new(&[4, 5, 3, 3], act, Init::Glorot, &mut rng).unwrap();
            let batch = 6;
            let mut x = vec![0f32; batch * 4];
            seq::fill_gaussian_f32(&mut rng, 1.0, &mut x).unwrap();
            let y = [0usize, 1, 2, 1, 0, 2];
            let mut cache = MlpCache::default();
            let out = m.forward(&x, batch, &mut cache).unwrap().to_vec();
            let mut d = vec![0f32; out.len()];
            softmax_cross_entropy(&out, &y, 3, &mut d).unwrap();
            let mut grads = vec![0f32; m.num_params()];
            m.backward(&mut cache, &d, &mut grads).unwrap();
            let h = 1e-2f32;
            for i in (0..m.num_params()).step_by(3) {
                let p0 = m.params[i];
                m.params[i] = p0 + h;
                let lp = loss_of(&m, &x, &y, batch);
                m.params[i] = p0 - h;
                let lm = loss_of(&m, &x, &y, batch);
                m.params[i] = p0;
                let fd = (lp - lm) / (2.0 * h as f64);
                assert!(
                    (fd - grads[i] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                    "{act:?} param {i}: fd {fd} vs {}",
                    grads[i]
                );
            }
        }
    }

    #[test]
    fn ghost_norms_equal_materialised_per_sample_gradients() {
        let mut rng = seq::default_rng(9);
        let m = Mlp::new(&[3, 4, 2], Activation::Tanh, Init::Glorot, &mut rng).unwrap();
        let batch = 5;
        let mut x = vec![0f32; batch * 3];
        seq::fill_gaussian_f32(&mut rng, 1.0, &mut x).unwrap();
        let y = [0usize, 1, 1, 0, 1];
        let mut cache = MlpCache::default();
        let out = m.forward(&x, batch, &mut cache).unwrap().to_vec();
        let mut d = vec![0f32; out.len()];
        softmax_cross_entropy(&out, &y, 2, &mut d).unwrap();
        let mut g = vec![0f32; m.num_params()];
        m.backward(&mut cache, &d, &mut g).unwrap();
        let mut ghost = vec![0f32; batch];
        m.per_sample_sq_norms(&cache, &mut ghost).unwrap();
        for i in 0..batch {
            let mut c1 = MlpCache::default();
            let o = m
                .forward(&x[i * 3..(i + 1) * 3], 1, &mut c1)
                .unwrap()
                .to_vec();
            let mut d1 = vec![0f32; 2];
            softmax_cross_entropy(&o, &y[i..i + 1], 2, &mut d1).unwrap();
            // The batch loss is a mean: per-sample gradients inside it carry a 1/batch factor.
            d1.iter_mut().for_each(|v| *v /= batch as f32);
            let mut gi = vec![0f32; m.num_params()];
            m.backward(&mut c1, &d1, &mut gi).unwrap();
            let n2: f32 = gi.iter().map(|v| v * v).sum();
            assert!(
                (n2 - ghost[i]).abs() <= 1e-5 * (1.0 + n2),
                "{n2} vs {}",
                ghost[i]
            );
        }
    }

    #[test]
    fn kaiming_uniform_bounds_and_zero_bias() {
        // U(-sqrt(6/fan_in), sqrt(6/fan_in)): variance 2 / fan_in; biases 0.
        let mut rng = seq::default_rng(3);
        let m = Mlp::new(
            &[64, 200],
            Activation::Identity,
            Init::KaimingUniform,
            &mut rng,
        )
        .unwrap();
        let (w, b) = (m.weight(0).unwrap(), &m.params[m.layers[0].b_offset..]);
        let bound = (6.0f32 / 64.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert!(b.iter().all(|&v| v == 0.0));
        let var = w.iter().map(|v| (v * v) as f64).sum::<f64>() / w.len() as f64;
        // 12 800 draws: the variance's relative sd is sqrt(0.8 / 12 800) = 0.8 %.
        assert!((var / (2.0 / 64.0) - 1.0).abs() < 0.04, "{var}");
    }

    #[test]
    fn bad_shapes_are_typed_errors() {
        let mut rng = seq::default_rng(0);
        assert!(Mlp::new(&[3], Activation::Relu, Init::He, &mut rng).is_err());
        assert!(Mlp::new(&[3, 0, 2], Activation::Relu, Init::He, &mut rng).is_err());
        let m = Mlp::new(&[3, 2], Activation::Relu, Init::He, &mut rng).unwrap();
        let mut cache = MlpCache::default();
        assert!(matches!(
            m.forward(&[1.0; 5], 2, &mut cache),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut grads = vec![0f32; m.num_params()];
        assert!(m.backward(&mut cache, &[0.0; 4], &mut grads).is_err());
    }
}
