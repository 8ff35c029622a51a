//! The synthetic latent-trace preference model of the BVPO spec: a softmax table policy over
//! (trace, answer) pairs with exact marginal, trace and empty-trace DPO gradients.
//!
//! Paper: Zhu et al., "From Noisy Traces to Stable Gradients: Bias-Variance Optimized Preference
//! Optimization", 2025, arXiv 2510.05095 (the model itself is the noisekit spec's test bed).
//!
//! `pi(r, y) = exp(theta[r, y]) / sum exp(theta)`, traces `r in 0..R+1` (`r = 0` is the empty
//! trace), answers `y in 0..Y`, `pi_ref` uniform (reference terms cancel), flattened index
//! `r Y + y`. `grad log pi(r, y) = e_{r,y} - P`; `grad log pi(y) = sum_r pi(r|y) e_{r,y} - P`.
//! Trace estimator: `r+ ~ pi(r|y+)`, `r- ~ pi(r|y-)`, DPO gradient of the pair; empty estimator:
//! `r = 0` on both sides; the target `G` is the DPO gradient of the marginal log-ratios.
//! Exact moments enumerate the `(R+1)^2` trace pairs: cost O((R+1)^2 d), `d = (R+1) Y`.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

use super::bvpo::dpo_loss_and_grad;
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// A softmax-table policy with one preference pair `(y_pos, y_neg)`.
#[derive(Debug, Clone)]
pub struct LatentTraceModel {
    traces: usize,
    answers: usize,
    theta: Vec<f64>,
    beta: f64,
    y_pos: usize,
    y_neg: usize,
}

/// Exact moments of the trace and empty estimators around the marginal gradient.
#[derive(Debug, Clone)]
pub struct ExactMoments {
    /// Target marginal gradient `G`.
    pub g: Vec<f64>,
    /// `E[g_t]`.
    pub mean_t: Vec<f64>,
    /// The deterministic empty-trace gradient `g_e`.
    pub g_e: Vec<f64>,
    /// `E||g_t - G||^2`.
    pub a: f64,
    /// `||g_e - G||^2`.
    pub b: f64,
    /// `<E g_t - G, g_e - G>`.
    pub c: f64,
}

impl LatentTraceModel {
    /// A model with `traces` trace values (including the empty trace 0) and `answers` answers;
    /// `theta` row-major `traces x answers`.
    pub fn new(
        traces: usize,
        answers: usize,
        theta: Vec<f64>,
        beta: f64,
        y_pos: usize,
        y_neg: usize,
    ) -> Result<Self> {
        if traces < 2 {
            return Err(Error::invalid(
                "traces",
                traces as f64,
                "at least 2 (empty + one trace)",
            ));
        }
        if answers < 2 {
            return Err(Error::invalid("answers", answers as f64, "at least 2"));
        }
        check::same_len("latent trace theta", traces * answers, theta.len())?;
        check::all_finite_f64("theta", &theta)?;
        check::positive("beta", beta)?;
        if y_pos >= answers || y_neg >= answers || y_pos == y_neg {
            return Err(Error::invalid(
                "y_pos",
                y_pos as f64,
                "two distinct answers below Y",
            ));
        }
        Ok(Self {
            traces,
            answers,
            theta,
            beta,
            y_pos,
            y_neg,
        })
    }

    /// Parameter dimension `d = traces * answers`.
    pub fn dim(&self) -> usize {
        self.theta.len()
    }

    /// Parameters (row-major).
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// Mutable parameters (for SGD).
    pub fn theta_mut(&mut self) -> &mut [f64] {
        &mut self.theta
    }

    /// The probability table `P`.
    pub fn probs(&self) -> Vec<f64> {
        let mx = self.theta.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut p: Vec<f64> = self.theta.iter().map(|&t| libm::exp(t - mx)).collect();
        let s: f64 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= s);
        p
    }

    /// Posterior `pi(r | y)` over traces.
    pub fn posterior(&self, p: &[f64], y: usize) -> Vec<f64> {
        let col: Vec<f64> = (0..self.traces).map(|r| p[r * self.answers + y]).collect();
        let s: f64 = col.iter().sum();
        col.into_iter().map(|v| v / s).collect()
    }

    fn marginal_logprob_grad(&self, p: &[f64], y: usize) -> (f64, Vec<f64>) {
        let post = self.posterior(p, y);
        let mut g: Vec<f64> = p.iter().map(|&v| -v).collect();
        let mut py = 0.0;
        for (r, &w) in post.iter().enumerate() {
            g[r * self.answers + y] += w;
            py += p[r * self.answers + y];
        }
        (libm::log(py), g)
    }

    fn joint_logprob_grad(&self, p: &[f64], r: usize, y: usize) -> (f64, Vec<f64>) {
        let i = r * self.answers + y;
        let mut g: Vec<f64> = p.iter().map(|&v| -v).collect();
        g[i] += 1.0;
        (libm::log(p[i]), g)
    }

    /// Marginal DPO loss `l_m` and its gradient `G`.
    pub fn marginal(&self) -> Result<(f64, Vec<f64>)> {
        let p = self.probs();
        let (sp, dp) = self.marginal_logprob_grad(&p, self.y_pos);
        let (sn, dn) = self.marginal_logprob_grad(&p, self.y_neg);
        let mut g = vec![0.0; self.dim()];
        let l = dpo_loss_and_grad(sp, sn, &dp, &dn, self.beta, &mut g)?;
        Ok((l, g))
    }

    /// Trace-based DPO loss and gradient for the trace pair `(r_pos, r_neg)`.
    pub fn trace(&self, r_pos: usize, r_neg: usize) -> Result<(f64, Vec<f64>)> {
        if r_pos >= self.traces || r_neg >= self.traces {
            return Err(Error::invalid(
                "r",
                r_pos.max(r_neg) as f64,
                "a trace index below R + 1",
            ));
        }
        let p = self.probs();
        self.trace_with(&p, r_pos, r_neg)
    }

    fn trace_with(&self, p: &[f64], r_pos: usize, r_neg: usize) -> Result<(f64, Vec<f64>)> {
        let (sp, dp) = self.joint_logprob_grad(p, r_pos, self.y_pos);
        let (sn, dn) = self.joint_logprob_grad(p, r_neg, self.y_neg);
        let mut g = vec![0.0; self.dim()];
        let l = dpo_loss_and_grad(sp, sn, &dp, &dn, self.beta, &mut g)?;
        Ok((l, g))
    }

    /// Empty-trace DPO loss and gradient (`r = 0` on both sides).
    pub fn empty(&self) -> Result<(f64, Vec<f64>)> {
        self.trace(0, 0)
    }

    /// One draw of the trace estimator: `r+ ~ pi(r|y+)`, `r- ~ pi(r|y-)`.
    pub fn sample_trace<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Vec<f64>> {
        let p = self.probs();
        let rp = seq::categorical(rng, &self.posterior(&p, self.y_pos))?;
        let rn = seq::categorical(rng, &self.posterior(&p, self.y_neg))?;
        Ok(self.trace_with(&p, rp, rn)?.1)
    }

    /// Exact moments by enumerating every trace pair.
    pub fn exact_moments(&self) -> Result<ExactMoments> {
        let p = self.probs();
        let (_, g) = self.marginal()?;
        let (_, g_e) = self.empty()?;
        let post_p = self.posterior(&p, self.y_pos);
        let post_n = self.posterior(&p, self.y_neg);
        let d = self.dim();
        let mut mean_t = vec![0.0; d];
        let mut a = 0.0;
        for (rp, &wp) in post_p.iter().enumerate() {
            for (rn, &wn) in post_n.iter().enumerate() {
                let w = wp * wn;
                let (_, gt) = self.trace_with(&p, rp, rn)?;
                let mut e2 = 0.0;
                for j in 0..d {
                    mean_t[j] += w * gt[j];
                    e2 += (gt[j] - g[j]) * (gt[j] - g[j]);
                }
                a += w * e2;
            }
        }
        let b: f64 = g_e.iter().zip(&g).map(|(e, t)| (e - t) * (e - t)).sum();
        let c: f64 = (0..d).map(|j| (mean_t[j] - g[j]) * (g_e[j] - g[j])).sum();
        Ok(ExactMoments {
            g,
            mean_t,
            g_e,
            a,
            b,
            c,
        })
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::sampled::bvpo::alpha_star;

    fn spec_model() -> LatentTraceModel {
        LatentTraceModel::new(3, 2, vec![0.0, 0.2, 1.0, -0.5, -0.3, 0.8], 1.0, 0, 1).unwrap()
    }

    #[test]
    fn spec_oracle_case_4() {
        let m = spec_model();
        let p = m.probs();
        let want_p = [0.117473, 0.143482, 0.319325, 0.071251, 0.087026, 0.261442];
        for i in 0..6 {
            assert!((p[i] - want_p[i]).abs() < 1e-6);
        }
        let (lm, g) = m.marginal().unwrap();
        assert!((lm - 0.6465974480).abs() < 1e-9);
        let want_g = [
            -0.106787, 0.143482, -0.290278, 0.071251, -0.079110, 0.261442,
        ];
        for i in 0..6 {
            assert!((g[i] - want_g[i]).abs() < 1e-6, "{g:?}");
        }
        let (le, ge) = m.empty().unwrap();
        assert!((le - 0.7981388694).abs() < 1e-9);
        assert!((ge[0] + 0.549834).abs() < 1e-6 && (ge[1] - 0.549834).abs() < 1e-6);
        let mo = m.exact_moments().unwrap();
        let want_t = [
            -0.134780, 0.125263, -0.224258, 0.040500, -0.110787, 0.304062,
        ];
        for i in 0..6 {
            assert!((mo.mean_t[i] - want_t[i]).abs() < 1e-6);
        }
        assert!((mo.a - 0.3149750588).abs() < 1e-9);
        assert!((mo.b - 0.5253602299).abs() < 1e-9);
        assert!((mo.c - 0.0127049030).abs() < 1e-9);
        let s = alpha_star(mo.a, mo.b, mo.c).unwrap();
        assert!((s.raw - 0.6290824594).abs() < 1e-8);
    }

    #[test]
    fn fisher_identity_and_linear_regime_unbiasedness() {
        let m = spec_model();
        let p = m.probs();
        for y in 0..2 {
            let post = m.posterior(&p, y);
            let (_, gy) = m.marginal_logprob_grad(&p, y);
            let mut acc = [0.0; 6];
            for (r, &w) in post.iter().enumerate() {
                let (_, gr) = m.joint_logprob_grad(&p, r, y);
                acc.iter_mut().zip(&gr).for_each(|(a, g)| *a += w * g);
            }
            for j in 0..6 {
                assert!((acc[j] - gy[j]).abs() < 1e-12);
            }
        }
        // beta -> 0: E[g_t]/beta -> G/beta.
        let beta = 1e-6;
        let m = LatentTraceModel::new(3, 2, m.theta().to_vec(), beta, 0, 1).unwrap();
        let mo = m.exact_moments().unwrap();
        for j in 0..6 {
            assert!((mo.mean_t[j] / beta - mo.g[j] / beta).abs() < 1e-5);
        }
    }

    #[test]
    fn rejects_bad_models() {
        assert!(LatentTraceModel::new(1, 2, vec![0.0; 2], 1.0, 0, 1).is_err());
        assert!(LatentTraceModel::new(2, 2, vec![0.0; 3], 1.0, 0, 1).is_err());
        assert!(LatentTraceModel::new(2, 2, vec![0.0; 4], 0.0, 0, 1).is_err());
        assert!(LatentTraceModel::new(2, 2, vec![0.0; 4], 1.0, 1, 1).is_err());
        assert!(LatentTraceModel::new(2, 2, vec![f64::NAN, 0.0, 0.0, 0.0], 1.0, 0, 1).is_err());
        assert!(spec_model().trace(3, 0).is_err());
    }
}
