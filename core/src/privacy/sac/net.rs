//! A small dense network in `f64` with a hand-written backward pass, for the SAC actor and critics.
//!
//! Layer `l` computes `z_l = a_{l-1} W_l^T + b_l` (`W_l` is `fan_out x fan_in`, row-major, then
//! `b_l`, in one flat parameter vector); hidden layers apply `tanh`, the last layer is linear.
//! Backward: `dL/dW_l = delta_l^T a_{l-1}`, `dL/db_l = sum_rows delta_l`,
//! `dL/da_{l-1} = delta_l W_l` and `delta_{l-1} = dL/da_{l-1} (1 - a_{l-1}^2)`.
//! Cost: `O(batch * params)` per pass.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

use crate::error::{check, Error, Result};
use crate::rng::seq;

/// A `tanh` multi-layer perceptron with a linear output layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    sizes: Vec<usize>,
    params: Vec<f64>,
}

/// Activations cached by [`Net::forward`] for [`Net::backward`].
#[derive(Debug, Clone, Default)]
pub struct NetCache {
    acts: Vec<Vec<f64>>,
    batch: usize,
}

impl Net {
    /// A network with layer widths `sizes` (input first, at least two entries). Weights and biases
    /// start as PyTorch's `nn.Linear`, `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`; the last layer is
    /// multiplied by `last_scale` (a small value starts a policy near its centre).
    pub fn new<R: Rng + ?Sized>(sizes: &[usize], last_scale: f64, rng: &mut R) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::invalid(
                "layer sizes",
                sizes.len() as f64,
                "at least two non-zero widths",
            ));
        }
        if !last_scale.is_finite() {
            return Err(Error::invalid("last_scale", last_scale, "a finite number"));
        }
        let mut params = Vec::new();
        let layers = sizes.len() - 1;
        for l in 0..layers {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            let bound = 1.0 / libm::sqrt(fi as f64);
            let scale = if l + 1 == layers { last_scale } else { 1.0 };
            for _ in 0..fo * fi + fo {
                params.push(scale * bound * (2.0 * seq::uniform(rng) - 1.0));
            }
        }
        Ok(Self {
            sizes: sizes.to_vec(),
            params,
        })
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// The flat parameters.
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    /// The flat parameters, mutable.
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// Forward pass of `batch` rows of `x` into `out` (`batch x output_dim`).
    pub fn forward(
        &self,
        x: &[f64],
        batch: usize,
        cache: &mut NetCache,
        out: &mut [f64],
    ) -> Result<()> {
        let din = self.input_dim();
        check::same_len("Net::forward input", batch * din, x.len())?;
        let dout = self.output_dim();
        check::same_len("Net::forward output", batch * dout, out.len())?;
        let layers = self.sizes.len() - 1;
        cache.acts.resize(layers, Vec::new());
        cache.batch = batch;
        cache.acts[0].clear();
        cache.acts[0].extend_from_slice(x);
        let mut off = 0;
        for l in 0..layers {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let w = &self.params[off..off + fo * fi];
            let b = &self.params[off + fo * fi..off + fo * fi + fo];
            off += fo * fi + fo;
            let last = l + 1 == layers;
            let mut next = if last {
                Vec::new()
            } else {
                vec![0.0; batch * fo]
            };
            let input = &cache.acts[l];
            for r in 0..batch {
                let a = &input[r * fi..(r + 1) * fi];
                for o in 0..fo {
                    let row = &w[o * fi..(o + 1) * fi];
                    let z = b[o] + row.iter().zip(a).map(|(p, q)| p * q).sum::<f64>();
                    if last {
                        out[r * fo + o] = z;
                    } else {
                        next[r * fo + o] = libm::tanh(z);
                    }
                }
            }
            if !last {
                cache.acts[l + 1] = next;
            }
        }
        Ok(())
    }

    /// Backward pass: adds `dL/dparams` to `grads` and, if given, writes `dL/dx` into `d_in`
    /// (`batch x input_dim`), for the output gradient `d_out` of the last [`Self::forward`].
    pub fn backward(
        &self,
        cache: &NetCache,
        d_out: &[f64],
        grads: &mut [f64],
        mut d_in: Option<&mut [f64]>,
    ) -> Result<()> {
        let batch = cache.batch;
        let layers = self.sizes.len() - 1;
        if cache.acts.len() != layers {
            return Err(Error::Numerical("Net::backward without a forward pass"));
        }
        check::same_len(
            "Net::backward d_out",
            batch * self.output_dim(),
            d_out.len(),
        )?;
        check::same_len("Net::backward grads", self.params.len(), grads.len())?;
        if let Some(d) = d_in.as_deref() {
            check::same_len("Net::backward d_in", batch * self.input_dim(), d.len())?;
        }
        let mut offs = Vec::with_capacity(layers);
        let mut off = 0;
        for l in 0..layers {
            offs.push(off);
            off += self.sizes[l + 1] * self.sizes[l] + self.sizes[l + 1];
        }
        let mut delta = d_out.to_vec();
        for l in (0..layers).rev() {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let o0 = offs[l];
            let w = &self.params[o0..o0 + fo * fi];
            let a = &cache.acts[l];
            {
                let (gw, gb) = grads[o0..o0 + fo * fi + fo].split_at_mut(fo * fi);
                for r in 0..batch {
                    let ar = &a[r * fi..(r + 1) * fi];
                    for o in 0..fo {
                        let dz = delta[r * fo + o];
                        gb[o] += dz;
                        for (g, &x) in gw[o * fi..(o + 1) * fi].iter_mut().zip(ar) {
                            *g += dz * x;
                        }
                    }
                }
            }
            if l == 0 && d_in.is_none() {
                break;
            }
            let mut da = vec![0.0; batch * fi];
            for r in 0..batch {
                for o in 0..fo {
                    let dz = delta[r * fo + o];
                    for (d, &wv) in da[r * fi..(r + 1) * fi]
                        .iter_mut()
                        .zip(&w[o * fi..(o + 1) * fi])
                    {
                        *d += dz * wv;
                    }
                }
            }
            if l == 0 {
                if let Some(d) = d_in.as_deref_mut() {
                    d.copy_from_slice(&da);
                }
            } else {
                for (d, &x) in da.iter_mut().zip(a) {
                    *d *= 1.0 - x * x;
                }
                delta = da;
            }
        }
        Ok(())
    }
}

/// Polyak averaging of target parameters: `target <- tau source + (1 - tau) target`
/// (Haarnoja et al. 2018, arXiv 1801.01290, target value network update).
pub fn polyak(target: &mut [f64], source: &[f64], tau: f64) -> Result<()> {
    check::same_len("polyak", target.len(), source.len())?;
    if !(0.0..=1.0).contains(&tau) {
        return Err(Error::invalid("tau", tau, "in [0, 1]"));
    }
    for (t, &s) in target.iter_mut().zip(source) {
        *t = tau * s + (1.0 - tau) * *t;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(net: &Net, x: &[f64], batch: usize, c: &[f64]) -> f64 {
        let mut cache = NetCache::default();
        let mut out = vec![0.0; batch * net.output_dim()];
        net.forward(x, batch, &mut cache, &mut out).unwrap();
        out.iter().zip(c).map(|(o, w)| w * o * o).sum()
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn backward_matches_finite_differences() {
        let mut rng = seq::default_rng(4);
        let net = Net::new(&[3, 5, 4, 2], 1.0, &mut rng).unwrap();
        let batch = 3;
        let x: Vec<f64> = (0..batch * 3).map(|_| seq::normal(&mut rng)).collect();
        let c: Vec<f64> = (0..batch * 2).map(|_| seq::normal(&mut rng)).collect();
        let mut cache = NetCache::default();
        let mut out = vec![0.0; batch * 2];
        net.forward(&x, batch, &mut cache, &mut out).unwrap();
        let d_out: Vec<f64> = out.iter().zip(&c).map(|(o, w)| 2.0 * w * o).collect();
        let mut g = vec![0.0; net.num_params()];
        let mut dx = vec![0.0; x.len()];
        net.backward(&cache, &d_out, &mut g, Some(&mut dx)).unwrap();
        let h = 1e-6;
        for i in 0..net.num_params() {
            let (mut p, mut m) = (net.clone(), net.clone());
            p.params_mut()[i] += h;
            m.params_mut()[i] -= h;
            let fd = (loss(&p, &x, batch, &c) - loss(&m, &x, batch, &c)) / (2.0 * h);
            let err = (fd - g[i]).abs() / fd.abs().max(g[i].abs()).max(1e-3);
            assert!(err < 1e-6, "param {i}: fd {fd} vs {}", g[i]);
        }
        for i in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += h;
            xm[i] -= h;
            let fd = (loss(&net, &xp, batch, &c) - loss(&net, &xm, batch, &c)) / (2.0 * h);
            assert!((fd - dx[i]).abs() / fd.abs().max(1e-3) < 1e-6);
        }
    }

    #[test]
    fn polyak_moves_by_tau() {
        let mut t = [1.0, -2.0, 0.5];
        polyak(&mut t, &[3.0, 2.0, 0.5], 0.25).unwrap();
        assert_eq!(t, [1.5, -1.0, 0.5]);
        polyak(&mut t, &[0.0, 0.0, 0.0], 1.0).unwrap();
        assert_eq!(t, [0.0, 0.0, 0.0]);
        assert!(polyak(&mut t, &[0.0], 0.1).is_err());
        assert!(polyak(&mut t, &[0.0; 3], 1.5).is_err());
    }

    #[test]
    fn bad_shapes_are_errors() {
        let mut rng = seq::default_rng(1);
        assert!(Net::new(&[3], 1.0, &mut rng).is_err());
        assert!(Net::new(&[3, 0, 1], 1.0, &mut rng).is_err());
        let net = Net::new(&[2, 1], 1.0, &mut rng).unwrap();
        let mut c = NetCache::default();
        let mut out = [0.0; 2];
        assert!(net.forward(&[0.0; 3], 2, &mut c, &mut out).is_err());
        let mut g = vec![0.0; net.num_params()];
        assert!(net.backward(&c, &[0.0; 2], &mut g, None).is_err());
    }
}
