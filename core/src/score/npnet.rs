//! Noise-prompt network (NPNet) toy and the per-class affine baseline: learn `x_T -> x'_T`
//! (random noise -> golden noise) from collected pairs.
//!
//! Paper: Zhou et al., "Golden Noise for Diffusion Models: A Learning Framework" (ICCV 2025,
//! arXiv 2411.09502); code `training/solver/ESVD_NoiseSolver.py`; spec 18 items 7-8.
//! Toy network (the reference's residual + AdaGroupNorm path with the prompt embedding replaced by
//! per-class tables `S, B in R^{C x d}`):
//! `e = GN(x)(1 + S[c]) + B[c]`, `out = x + (2 sigmoid(alpha) - 1) e + beta Res(x + e)`,
//! `Res(z) = W2 relu(W1 z + b1) + b2` (hidden `H`). The reference adds the SVD branch
//! `U diag(s') V^T` in place of `x`; this toy keeps `x` (the SVD branch is the identity at init and
//! is not implemented here). Init: `S = B = 0`, `alpha = beta = 0` (so `out = x` at init),
//! `W1 ~ N(0, 0.25^2)`, `W2 ~ N(0, 0.1^2)`. Loss `MSE(out, x'_T)` (mean over entries), Adam.
//! Affine baseline: per class ridge regression `x'_T - x_T ≈ A_c x_T + b_c` (lambda 1e-3).
//! Cost per sample O(H d) forward and backward.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error, Result};
use crate::score::golden::ada_group_norm;

/// The NPNet toy. Parameters are one flat vector (see [`NpNetToy::params`]).
#[derive(Debug, Clone)]
pub struct NpNetToy {
    d: usize,
    c: usize,
    h: usize,
    params: Vec<f64>,
}

/// Adam state.
#[derive(Debug, Clone)]
pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    /// Learning rate.
    pub lr: f64,
}

impl Adam {
    /// Adam with `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`.
    pub fn new(n: usize, lr: f64) -> Result<Self> {
        check::positive("lr", lr)?;
        Ok(Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            lr,
        })
    }

    /// One update of `p` with gradient `g`.
    pub fn step(&mut self, p: &mut [f64], g: &[f64]) -> Result<()> {
        check::same_len("adam params", self.m.len(), p.len())?;
        check::same_len("adam grad", self.m.len(), g.len())?;
        self.t = self.t.saturating_add(1);
        let (b1, b2) = (0.9f64, 0.999f64);
        let c1 = 1.0 - libm::pow(b1, self.t as f64);
        let c2 = 1.0 - libm::pow(b2, self.t as f64);
        for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
            *mi = b1 * *mi + (1.0 - b1) * gi;
            *vi = b2 * *vi + (1.0 - b2) * gi * gi;
            *pi -= self.lr * (*mi / c1) / (libm::sqrt(*vi / c2) + 1e-8);
        }
        Ok(())
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

impl NpNetToy {
    /// A network for dimension `d`, `classes` classes and hidden width `hidden`.
    pub fn new<R: rand_core::Rng + ?Sized>(
        rng: &mut R,
        d: usize,
        classes: usize,
        hidden: usize,
    ) -> Result<Self> {
        check::nonzero("d", d)?;
        check::nonzero("classes", classes)?;
        check::nonzero("hidden", hidden)?;
        let n = 2 * classes * d + 2 + hidden * d + hidden + d * hidden + d;
        let mut params = vec![0.0; n];
        let o = 2 * classes * d + 2;
        for v in &mut params[o..o + hidden * d] {
            *v = 0.25 * crate::rng::seq::normal(rng);
        }
        let o2 = o + hidden * d + hidden;
        for v in &mut params[o2..o2 + d * hidden] {
            *v = 0.1 * crate::rng::seq::normal(rng);
        }
        Ok(Self {
            d,
            c: classes,
            h: hidden,
            params,
        })
    }

    /// Flat parameters `[S (C d), B (C d), alpha, beta, W1 (H d), b1 (H), W2 (d H), b2 (d)]`.
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    fn offsets(&self) -> [usize; 7] {
        let (d, c, h) = (self.d, self.c, self.h);
        let s = 0;
        let b = c * d;
        let ab = 2 * c * d;
        let w1 = ab + 2;
        let b1 = w1 + h * d;
        let w2 = b1 + h;
        let b2 = w2 + d * h;
        [s, b, ab, w1, b1, w2, b2]
    }

    fn check_in(&self, x: &[f64], class: usize) -> Result<()> {
        check::same_len("npnet x", self.d, x.len())?;
        if class >= self.c {
            return Err(Error::invalid("class", class as f64, "< number of classes"));
        }
        Ok(())
    }

    /// Forward: the transformed noise for `(x, class)` into `out`.
    pub fn forward(&self, x: &[f64], class: usize, out: &mut [f64]) -> Result<()> {
        self.check_in(x, class)?;
        check::same_len("npnet out", self.d, out.len())?;
        let mut cache = Cache::new(self.d, self.h);
        self.forward_cached(x, class, &mut cache)?;
        out.copy_from_slice(&cache.out);
        Ok(())
    }

    fn forward_cached(&self, x: &[f64], class: usize, k: &mut Cache) -> Result<()> {
        let (d, h) = (self.d, self.h);
        let [so, bo, ab, w1, b1, w2, b2] = self.offsets();
        let p = &self.params;
        let zeros = vec![0.0; d];
        ada_group_norm(x, &zeros, &zeros, &mut k.gn)?;
        let s = &p[so + class * d..so + (class + 1) * d];
        let b = &p[bo + class * d..bo + (class + 1) * d];
        for i in 0..d {
            k.e[i] = k.gn[i] * (1.0 + s[i]) + b[i];
            k.z[i] = x[i] + k.e[i];
        }
        for j in 0..h {
            let row = &p[w1 + j * d..w1 + (j + 1) * d];
            let a: f64 = row.iter().zip(&k.z).map(|(u, v)| u * v).sum::<f64>() + p[b1 + j];
            k.hid[j] = a.max(0.0);
        }
        let gate = 2.0 * sigmoid(p[ab]) - 1.0;
        let beta = p[ab + 1];
        for i in 0..d {
            let row = &p[w2 + i * h..w2 + (i + 1) * h];
            k.res[i] = row.iter().zip(&k.hid).map(|(u, v)| u * v).sum::<f64>() + p[b2 + i];
            k.out[i] = x[i] + gate * k.e[i] + beta * k.res[i];
        }
        Ok(())
    }

    /// Mean-squared loss over a batch (`xs`, `targets`: `[n, d]`, `classes`: `[n]`) and its gradient
    /// (accumulated into `grad`, same length as the parameters).
    pub fn loss_grad(
        &self,
        xs: &[f64],
        classes: &[usize],
        targets: &[f64],
        grad: &mut [f64],
    ) -> Result<f64> {
        let (d, h) = (self.d, self.h);
        let n = classes.len();
        check::nonzero("batch", n)?;
        check::same_len("npnet batch x", n * d, xs.len())?;
        check::same_len("npnet batch targets", n * d, targets.len())?;
        check::same_len("npnet grad", self.params.len(), grad.len())?;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let [so, bo, ab, w1, b1, w2, b2] = self.offsets();
        let p = &self.params;
        let gate = 2.0 * sigmoid(p[ab]) - 1.0;
        let dgate = 2.0 * sigmoid(p[ab]) * (1.0 - sigmoid(p[ab]));
        let beta = p[ab + 1];
        let scale = 2.0 / (n * d) as f64;
        let mut k = Cache::new(d, h);
        let mut loss = 0.0;
        let mut dh = vec![0.0; h];
        let mut dz = vec![0.0; d];
        for ((x, &class), t) in xs.chunks_exact(d).zip(classes).zip(targets.chunks_exact(d)) {
            self.check_in(x, class)?;
            self.forward_cached(x, class, &mut k)?;
            dh.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..d {
                let r = k.out[i] - t[i];
                loss += r * r;
                let delta = scale * r;
                grad[ab] += delta * k.e[i] * dgate;
                grad[ab + 1] += delta * k.res[i];
                let dres = beta * delta;
                grad[b2 + i] += dres;
                for j in 0..h {
                    grad[w2 + i * h + j] += dres * k.hid[j];
                    dh[j] += dres * p[w2 + i * h + j];
                }
                dz[i] = gate * delta; // de from the gate path; the Res path is added below
            }
            for j in 0..h {
                if k.hid[j] <= 0.0 {
                    continue;
                }
                grad[b1 + j] += dh[j];
                for i in 0..d {
                    grad[w1 + j * d + i] += dh[j] * k.z[i];
                    dz[i] += dh[j] * p[w1 + j * d + i];
                }
            }
            for i in 0..d {
                // dz holds dL/de (e feeds both the gate path and z = x + e).
                grad[so + class * d + i] += dz[i] * k.gn[i];
                grad[bo + class * d + i] += dz[i];
            }
        }
        Ok(loss / (n * d) as f64)
    }

    /// Mutable parameters (for an optimiser step).
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }
}

struct Cache {
    gn: Vec<f64>,
    e: Vec<f64>,
    z: Vec<f64>,
    hid: Vec<f64>,
    res: Vec<f64>,
    out: Vec<f64>,
}

impl Cache {
    fn new(d: usize, h: usize) -> Self {
        Self {
            gn: vec![0.0; d],
            e: vec![0.0; d],
            z: vec![0.0; d],
            hid: vec![0.0; h],
            res: vec![0.0; d],
            out: vec![0.0; d],
        }
    }
}

/// Per-class affine map `x -> x + A_c x + b_c` fitted by ridge regression.
#[derive(Debug, Clone)]
pub struct AffineNoiseMap {
    d: usize,
    /// Per class `[(d + 1), d]`: rows of `[A_c^T; b_c^T]`.
    coef: Vec<f64>,
}

impl AffineNoiseMap {
    /// Fits on pairs (`xs`, `targets`: `[n, d]`, `classes`: `[n]`) with ridge `lambda >= 0`.
    pub fn fit(
        xs: &[f64],
        classes: &[usize],
        targets: &[f64],
        d: usize,
        n_classes: usize,
        lambda: f64,
    ) -> Result<Self> {
        check::nonzero("d", d)?;
        check::nonzero("classes", n_classes)?;
        check::non_negative("lambda", lambda)?;
        let n = classes.len();
        check::nonzero("pairs", n)?;
        check::same_len("affine x", n * d, xs.len())?;
        check::same_len("affine targets", n * d, targets.len())?;
        let q = d + 1;
        let mut coef = vec![0.0; n_classes * q * d];
        for cl in 0..n_classes {
            let mut g = nalgebra::DMatrix::<f64>::zeros(q, q);
            let mut r = nalgebra::DMatrix::<f64>::zeros(q, d);
            for ((x, &c), t) in xs.chunks_exact(d).zip(classes).zip(targets.chunks_exact(d)) {
                if c >= n_classes {
                    return Err(Error::invalid("class", c as f64, "< number of classes"));
                }
                if c != cl {
                    continue;
                }
                for a in 0..q {
                    let fa = if a < d { x[a] } else { 1.0 };
                    for b in 0..q {
                        let fb = if b < d { x[b] } else { 1.0 };
                        g[(a, b)] += fa * fb;
                    }
                    for j in 0..d {
                        r[(a, j)] += fa * (t[j] - x[j]);
                    }
                }
            }
            for a in 0..q {
                g[(a, a)] += lambda;
            }
            let sol = g
                .cholesky()
                .ok_or(Error::Numerical(
                    "affine noise map: singular normal equations (raise lambda)",
                ))?
                .solve(&r);
            for a in 0..q {
                for j in 0..d {
                    coef[cl * q * d + a * d + j] = sol[(a, j)];
                }
            }
        }
        Ok(Self { d, coef })
    }

    /// `x + A_c x + b_c` into `out`.
    pub fn apply(&self, x: &[f64], class: usize, out: &mut [f64]) -> Result<()> {
        let d = self.d;
        check::same_len("affine apply x", d, x.len())?;
        check::same_len("affine apply out", d, out.len())?;
        let q = d + 1;
        let base = class
            .checked_mul(q * d)
            .filter(|&b| b + q * d <= self.coef.len())
            .ok_or(Error::invalid("class", class as f64, "< number of classes"))?;
        let c = &self.coef[base..base + q * d];
        for j in 0..d {
            let mut s = c[d * d + j];
            for a in 0..d {
                s += x[a] * c[a * d + j];
            }
            out[j] = x[j] + s;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::{default_rng, seq};

    #[test]
    fn identity_at_init_and_fd_gradient() {
        let mut rng = default_rng(1);
        let mut net = NpNetToy::new(&mut rng, 4, 2, 8).unwrap();
        let x = [0.3, -1.0, 0.8, 1.7];
        let mut o = [0.0; 4];
        net.forward(&x, 1, &mut o).unwrap();
        assert_eq!(o, x);
        // Move off the init point, then check the gradient by central differences.
        for (i, p) in net.params_mut().iter_mut().enumerate() {
            *p += 0.05 * (((i * 13) % 7) as f64 - 3.0);
        }
        let xs = [0.3, -1.0, 0.8, 1.7, -0.2, 0.4, 1.1, -0.9];
        let cls = [1usize, 0];
        let tg = [0.5, -0.8, 0.7, 1.5, 0.0, 0.3, 1.0, -1.0];
        let mut g = vec![0.0; net.params().len()];
        net.loss_grad(&xs, &cls, &tg, &mut g).unwrap();
        let mut scratch = vec![0.0; g.len()];
        for i in 0..g.len() {
            let mut a = net.clone();
            a.params_mut()[i] += 1e-6;
            let mut b = net.clone();
            b.params_mut()[i] -= 1e-6;
            let fd = (a.loss_grad(&xs, &cls, &tg, &mut scratch).unwrap()
                - b.loss_grad(&xs, &cls, &tg, &mut scratch).unwrap())
                / 2e-6;
            assert!(
                (fd - g[i]).abs() < 1e-6 * g[i].abs().max(1.0),
                "{i}: {fd} vs {}",
                g[i]
            );
        }
        assert!(net.forward(&x, 2, &mut o).is_err());
    }

    #[test]
    fn affine_recovers_affine_map() {
        let mut rng = default_rng(2);
        let n = 200;
        let d = 3;
        let mut xs = vec![0.0; n * d];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut xs).unwrap();
        let cls: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let mut tg = xs.clone();
        for (i, t) in tg.chunks_exact_mut(d).enumerate() {
            let shift = if cls[i] == 0 { 0.3 } else { -0.1 };
            for v in t.iter_mut() {
                *v = 1.1 * *v + shift;
            }
        }
        let m = AffineNoiseMap::fit(&xs, &cls, &tg, d, 2, 1e-9).unwrap();
        let mut o = [0.0; 3];
        m.apply(&[1.0, 2.0, -1.0], 0, &mut o).unwrap();
        assert!(
            (o[0] - 1.4).abs() < 1e-6 && (o[1] - 2.5).abs() < 1e-6 && (o[2] + 0.8).abs() < 1e-6
        );
        assert!(m.apply(&[1.0, 2.0, -1.0], 2, &mut o).is_err());
        let mut adam = Adam::new(2, 0.1).unwrap();
        let mut p = [1.0, -1.0];
        adam.step(&mut p, &[1.0, -1.0]).unwrap();
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 0.9).abs() < 1e-6);
    }
}
