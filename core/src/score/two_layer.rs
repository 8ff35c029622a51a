//! Two-layer ReLU score network with time embedding, trained by full-batch gradient descent with
//! early stopping (the NTK-regime model of the NN score estimation paper).
//!
//! Paper: Han, Razaviyayn & Xu, "Neural Network-Based Score Estimation in Diffusion Models:
//! Optimization and Generalization" (2024, arXiv 2401.15604); spec 07 items 3-4 (template: Arora et
//! al. 2019). Input feature `u = [x / c_x, t, 1]` (`p = d + 2`), output
//! `f_W(u) = (1/sqrt m) A relu(W u)` (an x0-prediction; the score is `(alpha_t f - x)/sigma_t^2`),
//! `W in R^{m x p}` trained, `A in {+1,-1}^{d x m}` fixed. Antisymmetric init: `W_r ~ N(0, I_p)`,
//! neuron `r + m/2` copies `W_r` with `A[:, r + m/2] = -A[:, r]`, so `f_{W0} == 0` (m even).
//! Gradient of a loss with output gradient `g_i`:
//! `dL/dW_r = (1/sqrt m) sum_i (g_i . A[:, r]) 1{W_r u_i > 0} u_i`.
//! Cost per GD step about `4 n m p` FLOPs (two passes over the `n x m` pre-activations); memory `m p`.
//! Computed in `f64` (the spec's finite-difference check needs 1e-5 relative accuracy).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error, Result};
use crate::score::dsm::dsm_loss_x0;

/// The network: weights `W` (`[m, p]` row-major) and fixed output signs `A` (`[d, m]`).
#[derive(Debug, Clone)]
pub struct TwoLayerNet {
    /// First-layer weights, `[m, p]` row-major.
    pub w: Vec<f64>,
    /// Output signs, `[d, m]` row-major, entries `+-1`.
    pub a: Vec<f64>,
    m: usize,
    p: usize,
    d: usize,
}

/// Builds the feature `u = [x / c_x, t, 1]` for one sample into `out` (`len = d + 2`).
pub fn features(x: &[f64], t: f64, c_x: f64, out: &mut [f64]) -> Result<()> {
    check::positive("c_x", c_x)?;
    check::same_len("features", x.len() + 2, out.len())?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v / c_x;
    }
    let d = x.len();
    if let Some(s) = out.get_mut(d..) {
        s[0] = t;
        s[1] = 1.0;
    }
    Ok(())
}

impl TwoLayerNet {
    /// Antisymmetric initialisation: `m` even, `p >= 1`, `d >= 1`.
    pub fn new_antisymmetric<R: rand_core::Rng + ?Sized>(
        rng: &mut R,
        m: usize,
        p: usize,
        d: usize,
    ) -> Result<Self> {
        if m == 0 || !m.is_multiple_of(2) {
            return Err(Error::invalid(
                "m (width)",
                m as f64,
                "an even integer >= 2",
            ));
        }
        check::nonzero("p (input dim)", p)?;
        check::nonzero("d (output dim)", d)?;
        let half = m / 2;
        let mut w = vec![0.0; m * p];
        let mut a = vec![0.0; d * m];
        for r in 0..half {
            for k in 0..p {
                let v = crate::rng::seq::normal(rng);
                w[r * p + k] = v;
                w[(r + half) * p + k] = v;
            }
            for j in 0..d {
                let s = if crate::rng::seq::uniform(rng) < 0.5 {
                    1.0
                } else {
                    -1.0
                };
                a[j * m + r] = s;
                a[j * m + r + half] = -s;
            }
        }
        Ok(Self { w, a, m, p, d })
    }

    /// A network with given weights (`w: [m, p]`, `a: [d, m]`).
    pub fn from_parts(w: Vec<f64>, a: Vec<f64>, m: usize, p: usize, d: usize) -> Result<Self> {
        check::nonzero("m", m)?;
        check::nonzero("p", p)?;
        check::nonzero("d", d)?;
        check::same_len("two-layer W", m * p, w.len())?;
        check::same_len("two-layer A", d * m, a.len())?;
        Ok(Self { w, a, m, p, d })
    }

    /// `(m, p, d)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.m, self.p, self.d)
    }

    /// Forward pass on `n` feature rows `u` (`[n, p]`) into `f` (`[n, d]`).
    pub fn forward(&self, u: &[f64], f: &mut [f64]) -> Result<()> {
        let (m, p, d) = (self.m, self.p, self.d);
        if !u.len().is_multiple_of(p) {
            return Err(Error::len_mismatch("two-layer input (n*p)", p, u.len()));
        }
        let n = u.len() / p;
        check::same_len("two-layer output (n*d)", n * d, f.len())?;
        let scale = 1.0 / libm::sqrt(m as f64);
        for (ui, fi) in u.chunks_exact(p).zip(f.chunks_exact_mut(d)) {
            fi.iter_mut().for_each(|v| *v = 0.0);
            for (r, wr) in self.w.chunks_exact(p).enumerate() {
                let h: f64 = wr.iter().zip(ui).map(|(a, b)| a * b).sum();
                if h > 0.0 {
                    for (j, fv) in fi.iter_mut().enumerate() {
                        *fv += self.a[j * m + r] * h;
                    }
                }
            }
            fi.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(())
    }

    /// Gradient `dL/dW` (`[m, p]`) given the output gradients `g` (`[n, d]`) at inputs `u`.
    pub fn backward(&self, u: &[f64], g: &[f64], grad_w: &mut [f64]) -> Result<()> {
        let (m, p, d) = (self.m, self.p, self.d);
        if !u.len().is_multiple_of(p) {
            return Err(Error::len_mismatch("two-layer input (n*p)", p, u.len()));
        }
        let n = u.len() / p;
        check::same_len("two-layer output grad", n * d, g.len())?;
        check::same_len("two-layer grad W", m * p, grad_w.len())?;
        let scale = 1.0 / libm::sqrt(m as f64);
        grad_w.iter_mut().for_each(|v| *v = 0.0);
        for (ui, gi) in u.chunks_exact(p).zip(g.chunks_exact(d)) {
            for (r, (wr, gr)) in self
                .w
                .chunks_exact(p)
                .zip(grad_w.chunks_exact_mut(p))
                .enumerate()
            {
                let h: f64 = wr.iter().zip(ui).map(|(a, b)| a * b).sum();
                if h > 0.0 {
                    let mut c = 0.0;
                    for (j, &gv) in gi.iter().enumerate() {
                        c += gv * self.a[j * m + r];
                    }
                    let c = c * scale;
                    for (gk, &uk) in gr.iter_mut().zip(ui) {
                        *gk += c * uk;
                    }
                }
            }
        }
        Ok(())
    }

    /// One full-batch GD step on the least-squares DSM loss `(1/(2n)) sum |f_i - x0_i|^2`;
    /// returns the loss before the step. Non-finite loss -> [`Error::Numerical`] (diverged).
    /// One fused pass computes the pre-activations once and keeps the active set for the gradient.
    pub fn gd_step(&mut self, u: &[f64], x0: &[f64], eta: f64, work: &mut GdWork) -> Result<f64> {
        check::positive("eta", eta)?;
        let (m, p, d) = (self.m, self.p, self.d);
        if !u.len().is_multiple_of(p) {
            return Err(Error::len_mismatch("two-layer input (n*p)", p, u.len()));
        }
        let n = u.len() / p;
        check::nonzero("n (batch)", n)?;
        check::same_len("two-layer labels (n*d)", n * d, x0.len())?;
        work.f.clear();
        work.f.resize(n * d, 0.0);
        work.g.resize(n * d, 0.0);
        work.gw.clear();
        work.gw.resize(m * p, 0.0);
        work.active.clear();
        work.active.resize(n * m, false);
        let scale = 1.0 / libm::sqrt(m as f64);
        for (i, ui) in u.chunks_exact(p).enumerate() {
            let fi = &mut work.f[i * d..(i + 1) * d];
            let act = &mut work.active[i * m..(i + 1) * m];
            for (r, (wr, ar)) in self.w.chunks_exact(p).zip(act.iter_mut()).enumerate() {
                let h: f64 = wr.iter().zip(ui).map(|(a, b)| a * b).sum();
                if h > 0.0 {
                    *ar = true;
                    for (j, fv) in fi.iter_mut().enumerate() {
                        *fv += self.a[j * m + r] * h;
                    }
                }
            }
            fi.iter_mut().for_each(|v| *v *= scale);
        }
        let loss = dsm_loss_x0(&work.f, x0, n, &mut work.g).map_err(|e| match e {
            Error::NonFinite { .. } => Error::Numerical("GD diverged (non-finite network output)"),
            e => e,
        })?;
        for (i, ui) in u.chunks_exact(p).enumerate() {
            let gi = &work.g[i * d..(i + 1) * d];
            let act = &work.active[i * m..(i + 1) * m];
            for (r, (gr, _)) in work
                .gw
                .chunks_exact_mut(p)
                .zip(act)
                .enumerate()
                .filter(|(_, (_, &on))| on)
            {
                let mut c = 0.0;
                for (j, &gv) in gi.iter().enumerate() {
                    c += gv * self.a[j * m + r];
                }
                let c = c * scale;
                for (gk, &uk) in gr.iter_mut().zip(ui) {
                    *gk += c * uk;
                }
            }
        }
        for (w, g) in self.w.iter_mut().zip(&work.gw) {
            *w -= eta * g;
        }
        Ok(loss)
    }
}

/// Reusable buffers for [`TwoLayerNet::gd_step`].
#[derive(Debug, Clone, Default)]
pub struct GdWork {
    f: Vec<f64>,
    g: Vec<f64>,
    gw: Vec<f64>,
    active: Vec<bool>,
}

/// Early stopping: returns the index of the smallest held-out loss among checkpoints (first on ties).
pub fn early_stop_index(held_out: &[f64]) -> Result<usize> {
    check::nonzero("checkpoints", held_out.len())?;
    check::all_finite_f64("held-out loss", held_out)?;
    let mut best = 0;
    for (i, &v) in held_out.iter().enumerate() {
        if v < held_out[best] {
            best = i;
        }
    }
    Ok(best)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::default_rng;

    fn case4() -> TwoLayerNet {
        let w = vec![
            1.0, -0.5, 0.2, -1.0, 0.5, 0.1, 0.3, 0.3, -0.4, 0.5, -1.0, 1.0,
        ];
        TwoLayerNet::from_parts(w, vec![1.0, -1.0, 1.0, -1.0], 4, 3, 1).unwrap()
    }

    #[test]
    fn golden_case_4() {
        let net = case4();
        let u = [0.50203, 0.5, 1.0];
        let mut f = [0.0];
        net.forward(&u, &mut f).unwrap();
        assert!((f[0] + 0.1494925).abs() < 1e-12);
        assert!((0.5 * (f[0] - 1.0) * (f[0] - 1.0) - 0.6606665038).abs() < 1e-9);
        let mut gw = [0.0; 12];
        net.backward(&u, &[f[0] - 1.0], &mut gw).unwrap();
        let want: [f64; 3] = [-0.2885398599, -0.2873731250, -0.5747462500];
        for k in 0..3 {
            assert!((gw[k] - want[k]).abs() < 1e-9);
            assert!((gw[9 + k] + want[k]).abs() < 1e-9);
            assert_eq!(gw[3 + k], 0.0);
            assert_eq!(gw[6 + k], 0.0);
        }
    }

    #[test]
    fn antisymmetric_init_is_zero_and_fd_gradient() {
        let mut rng = default_rng(4);
        let net = TwoLayerNet::new_antisymmetric(&mut rng, 16, 3, 2).unwrap();
        let u = [0.3, -0.7, 1.0, -1.1, 0.2, 1.0, 0.9, 1.4, 1.0];
        let mut f = [1.0; 6];
        net.forward(&u, &mut f).unwrap();
        assert!(f.iter().all(|&v| v.abs() < 1e-13), "{f:?}");
        // Perturb W off the antisymmetric point, then central differences h = 1e-6, rel tol 1e-5.
        let mut net = net;
        for (i, w) in net.w.iter_mut().enumerate() {
            *w += 0.1 * ((i * 7 % 5) as f64 - 2.0);
        }
        let x0 = [0.5, -0.2, 1.0, 0.3, -0.4, 0.8];
        let loss = |n: &TwoLayerNet| {
            let mut f = [0.0; 6];
            n.forward(&u, &mut f).unwrap();
            let mut g = [0.0; 6];
            dsm_loss_x0(&f, &x0, 3, &mut g).unwrap()
        };
        let mut f = [0.0; 6];
        net.forward(&u, &mut f).unwrap();
        let mut g = [0.0; 6];
        dsm_loss_x0(&f, &x0, 3, &mut g).unwrap();
        let mut gw = vec![0.0; 48];
        net.backward(&u, &g, &mut gw).unwrap();
        let h = 1e-6;
        let mut checked = 0;
        for i in 0..48 {
            // Skip weights whose neuron sits within 1e-4 of a ReLU kink for some input.
            let r = i / 3;
            let near_kink = u.chunks_exact(3).any(|ui| {
                let hh: f64 = net.w[r * 3..r * 3 + 3]
                    .iter()
                    .zip(ui)
                    .map(|(a, b)| a * b)
                    .sum();
                hh.abs() < 1e-4
            });
            if near_kink {
                continue;
            }
            let mut p = net.clone();
            p.w[i] += h;
            let mut q = net.clone();
            q.w[i] -= h;
            let fd = (loss(&p) - loss(&q)) / (2.0 * h);
            assert!(
                (fd - gw[i]).abs() <= 1e-5 * gw[i].abs().max(1e-3),
                "{i}: {fd} vs {}",
                gw[i]
            );
            checked += 1;
        }
        assert!(checked > 30);
    }

    #[test]
    fn gd_decreases_loss_and_errors() {
        let mut rng = default_rng(2);
        let mut net = TwoLayerNet::new_antisymmetric(&mut rng, 64, 3, 1).unwrap();
        let u = [0.5, 0.2, 1.0, -0.5, 0.8, 1.0, 0.1, 1.2, 1.0];
        let x0 = [1.0, -1.0, 0.5];
        let mut work = GdWork::default();
        let l0 = net.gd_step(&u, &x0, 0.5, &mut work).unwrap();
        let mut l = l0;
        for _ in 0..50 {
            l = net.gd_step(&u, &x0, 0.5, &mut work).unwrap();
        }
        assert!(l < 0.5 * l0);
        assert!(matches!(
            TwoLayerNet::new_antisymmetric(&mut rng, 7, 3, 1),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            net.gd_step(&u, &x0, -1.0, &mut work),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            net.gd_step(&u[..4], &x0, 0.1, &mut work),
            Err(Error::ShapeMismatch { .. })
        ));
        assert_eq!(early_stop_index(&[3.0, 1.0, 2.0, 1.0]).unwrap(), 1);
        // The fused step equals forward + backward + update.
        let before = net.clone();
        net.gd_step(&u, &x0, 0.3, &mut work).unwrap();
        let mut f = [0.0; 3];
        before.forward(&u, &mut f).unwrap();
        let mut g = [0.0; 3];
        dsm_loss_x0(&f, &x0, 3, &mut g).unwrap();
        let mut gw = vec![0.0; before.w.len()];
        before.backward(&u, &g, &mut gw).unwrap();
        for ((a, b), c) in net.w.iter().zip(&before.w).zip(&gw) {
            assert!((a - (b - 0.3 * c)).abs() < 1e-14);
        }
    }
}
