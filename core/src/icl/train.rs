//! Pre-training of the one-layer LSA on fresh noisy linear-regression prompts.
//!
//! Mahankali et al. 2023 (arXiv 2307.03576), training protocol of spec 01: parameters `v` (`d+1`)
//! and `Bq` (`(d+1) x d`) initialised `N(0, init_std^2)`; each step draws `B` fresh tasks (online,
//! infinite data), computes `L = (1/B) sum_b (y_hat_b - y_q,b)^2` and its gradient
//! ([`crate::icl::lsa`]), and takes an Adam step (`beta = (0.9, 0.999)`, `eps = 1e-8`, bias
//! corrected, as `torch.optim.Adam`) with learning rate `lr_t = lr (1 + cos(pi t / T)) / 2`
//! (cosine decay to 0). The step is written here in `f64` (the statistics precision); the shared
//! `f32` update rules are for the training paths of the other models. Cost per step:
//! `B (n+1)(d+1)` normals and `O(B n d)` flops.

use alloc::vec;
use alloc::vec::Vec;
use rand_core::Rng;

use crate::backend::Backend;
use crate::error::{check, Error, Result};
use crate::icl::lsa::{accumulate_grad, param_lens};
use crate::icl::lsa_backend::{loss_and_grad_backend, LsaWorkspace};
use crate::icl::task::{TaskBatch, TaskSpec};
use crate::rng::seq;

/// Trainable LSA parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LsaParams {
    /// Dimension `d`.
    pub d: usize,
    /// Last row of `W_PV` (`d + 1`).
    pub v: Vec<f64>,
    /// First `d` columns of `W_KQ`, row-major `(d + 1) x d`.
    pub bq: Vec<f64>,
    /// Whether the query token is masked out of the keys/values.
    pub masked: bool,
}

impl LsaParams {
    /// `N(0, std^2)` initialisation.
    pub fn init<R: Rng + ?Sized>(rng: &mut R, d: usize, std: f64, masked: bool) -> Result<Self> {
        check::nonzero("d", d)?;
        check::non_negative("init_std", std)?;
        let (lv, lb) = param_lens(d);
        let mut draw = |k: usize| (0..k).map(|_| std * seq::normal(rng)).collect::<Vec<_>>();
        let v = draw(lv);
        let bq = draw(lb);
        Ok(Self { d, v, bq, masked })
    }

    /// Predictions for every task of `batch` into `out` (length `B`).
    pub fn predict_batch(&self, batch: &TaskBatch, out: &mut [f64]) -> Result<()> {
        check::same_len("batch d", self.d, batch.d)?;
        check::same_len("predictions", batch.b, out.len())?;
        let (n, d) = (batch.n, batch.d);
        let mut u = vec![0.0; d + 1];
        for (i, o) in out.iter_mut().enumerate() {
            let (x, y, xq, _, _) = batch
                .task(i)
                .ok_or(Error::len_mismatch("batch", batch.b, i))?;
            *o = crate::icl::lsa::predict_unchecked(
                &self.v,
                &self.bq,
                x,
                y,
                xq,
                n,
                d,
                self.masked,
                &mut u,
            );
        }
        Ok(())
    }

    /// Loss `(1/B) sum_b (y_hat_b - y_q,b)^2` and its gradient into `gv`, `gbq` (overwritten).
    ///
    /// Errors: a non-finite loss -> [`Error::NonFinite`] (`"lsa loss"`); the caller stops training.
    pub fn loss_and_grad(&self, batch: &TaskBatch, gv: &mut [f64], gbq: &mut [f64]) -> Result<f64> {
        check::same_len("batch d", self.d, batch.d)?;
        check::nonzero("batch", batch.b)?;
        check::same_len("gv", self.v.len(), gv.len())?;
        check::same_len("gbq", self.bq.len(), gbq.len())?;
        let (n, d, b) = (batch.n, batch.d, batch.b as f64);
        gv.fill(0.0);
        gbq.fill(0.0);
        let (mut u, mut w) = (vec![0.0; d + 1], vec![0.0; d + 1]);
        let mut loss = 0.0;
        for i in 0..batch.b {
            let (x, y, xq, yq, _) = batch
                .task(i)
                .ok_or(Error::len_mismatch("batch", batch.b, i))?;
            let mut r2 = 0.0;
            accumulate_grad(
                &self.v,
                &self.bq,
                x,
                y,
                xq,
                n,
                d,
                self.masked,
                &mut u,
                &mut w,
                &mut |yhat| {
                    let r = yhat - yq;
                    r2 = r * r;
                    2.0 * r / b
                },
                gv,
                gbq,
            );
            loss += r2;
        }
        let loss = loss / b;
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(Error::NonFinite {
                what: "lsa loss",
                index: 0,
            })
        }
    }
}

/// Training hyper-parameters (defaults: spec 01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LsaTrainConfig {
    /// Adam steps `T >= 1`.
    pub steps: usize,
    /// Fresh tasks per step `B >= 1`.
    pub batch: usize,
    /// Peak learning rate (cosine decay to 0 over `T`).
    pub lr: f64,
    /// Adam `beta1` in `[0, 1)`.
    pub beta1: f64,
    /// Adam `beta2` in `[0, 1)`.
    pub beta2: f64,
    /// Adam `eps > 0`.
    pub eps: f64,
    /// Initialisation standard deviation.
    pub init_std: f64,
    /// Masked (query token not a key/value) or unmasked attention.
    pub masked: bool,
}

impl Default for LsaTrainConfig {
    fn default() -> Self {
        Self {
            steps: 4000,
            batch: 512,
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            init_std: 0.1,
            masked: true,
        }
    }
}

/// Trains an LSA on tasks from `spec` (`f64` reference gradient); `on_step(t, loss)` is called
/// after each step (progress).
pub fn train_lsa<R: Rng + ?Sized>(
    rng: &mut R,
    spec: &TaskSpec<'_>,
    cfg: &LsaTrainConfig,
    on_step: impl FnMut(usize, f64),
) -> Result<LsaParams> {
    train_with(
        rng,
        spec,
        cfg,
        &mut |p, b, gv, gb| p.loss_and_grad(b, gv, gb),
        on_step,
    )
}

/// [`train_lsa`] with the gemm-shaped gradient work on `be` in `f32`
/// ([`crate::icl::lsa_backend`]); masked attention only.
pub fn train_lsa_on<B: Backend, R: Rng + ?Sized>(
    be: &B,
    rng: &mut R,
    spec: &TaskSpec<'_>,
    cfg: &LsaTrainConfig,
    on_step: impl FnMut(usize, f64),
) -> Result<LsaParams> {
    check::nonzero("batch", cfg.batch)?;
    spec.validate()?;
    let mut ws = LsaWorkspace::new(be, cfg.batch, spec.n, spec.d)?;
    train_with(
        rng,
        spec,
        cfg,
        &mut |p, b, gv, gb| loss_and_grad_backend(be, &mut ws, p, b, gv, gb),
        on_step,
    )
}

type GradFn<'g> = dyn FnMut(&LsaParams, &TaskBatch, &mut [f64], &mut [f64]) -> Result<f64> + 'g;

fn train_with<R: Rng + ?Sized>(
    rng: &mut R,
    spec: &TaskSpec<'_>,
    cfg: &LsaTrainConfig,
    grad: &mut GradFn<'_>,
    mut on_step: impl FnMut(usize, f64),
) -> Result<LsaParams> {
    spec.validate()?;
    check::nonzero("steps", cfg.steps)?;
    check::nonzero("batch", cfg.batch)?;
    check::positive("lr", cfg.lr)?;
    check::half_open("beta1", cfg.beta1, 0.0, 1.0, "in [0, 1)")?;
    check::half_open("beta2", cfg.beta2, 0.0, 1.0, "in [0, 1)")?;
    check::positive("eps", cfg.eps)?;
    let mut p = LsaParams::init(rng, spec.d, cfg.init_std, cfg.masked)?;
    let mut batch = TaskBatch::zeros(cfg.batch, spec.n, spec.d);
    let (lv, lb) = param_lens(spec.d);
    let mut g = vec![0.0; lv + lb];
    let (mut m, mut s) = (vec![0.0; lv + lb], vec![0.0; lv + lb]);
    for t in 1..=cfg.steps {
        batch.resample(rng, spec)?;
        let (gv, gb) = g.split_at_mut(lv);
        let loss = grad(&p, &batch, gv, gb)?;
        let lr = cfg.lr
            * 0.5
            * (1.0 + libm::cos(core::f64::consts::PI * (t - 1) as f64 / cfg.steps as f64));
        let bc1 = 1.0 - libm::pow(cfg.beta1, t as f64);
        let bc2 = 1.0 - libm::pow(cfg.beta2, t as f64);
        let params = p.v.iter_mut().chain(p.bq.iter_mut());
        for (((w, &gi), mi), si) in params.zip(&g).zip(m.iter_mut()).zip(s.iter_mut()) {
            *mi = cfg.beta1 * *mi + (1.0 - cfg.beta1) * gi;
            *si = cfg.beta2 * *si + (1.0 - cfg.beta2) * gi * gi;
            *w -= lr / bc1 * *mi / (libm::sqrt(*si / bc2) + cfg.eps);
        }
        on_step(t, loss);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icl::gd::optimal_eta;
    use crate::icl::lsa::effective_gamma;
    use crate::rng::default_rng;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    #[test]
    fn batch_gradient_matches_finite_differences() {
        let spec = TaskSpec::isotropic(3, 6, 0.5);
        let mut r = default_rng(4);
        let batch = TaskBatch::sample(&mut r, &spec, 16).unwrap();
        for masked in [true, false] {
            let p = LsaParams::init(&mut r, 3, 0.3, masked).unwrap();
            let (mut gv, mut gb) = (vec![0.0; 4], vec![0.0; 12]);
            p.loss_and_grad(&batch, &mut gv, &mut gb).unwrap();
            let h = 1e-6;
            for k in 0..16 {
                let (mut a, mut b) = (p.clone(), p.clone());
                let (pa, pb) = if k < 4 {
                    (&mut a.v[k], &mut b.v[k])
                } else {
                    (&mut a.bq[k - 4], &mut b.bq[k - 4])
                };
                *pa += h;
                *pb -= h;
                let (mut t1, mut t2) = (vec![0.0; 4], vec![0.0; 12]);
                let la = a.loss_and_grad(&batch, &mut t1, &mut t2).unwrap();
                let lb = b.loss_and_grad(&batch, &mut t1, &mut t2).unwrap();
                let fd = (la - lb) / (2.0 * h);
                let an = if k < 4 { gv[k] } else { gb[k - 4] };
                assert!(
                    (fd - an).abs() < 1e-6 * (1.0 + an.abs()),
                    "k={k} fd={fd} an={an}"
                );
            }
        }
    }

    /// Short training (d = 3, n = 10, 1500 steps) reaches Gamma_eff ≈ eta* I within 3% of eta*
    /// entry-wise (measured 0.6%); the repro checks the spec's tolerances at d = 5.
    #[test]
    fn short_training_learns_one_gd_step() {
        let spec = TaskSpec::isotropic(3, 10, 0.5);
        let cfg = LsaTrainConfig {
            steps: 1500,
            batch: 256,
            ..LsaTrainConfig::default()
        };
        let p = train_lsa(&mut default_rng(11), &spec, &cfg, |_, _| {}).unwrap();
        let mut g = [0.0; 9];
        effective_gamma(&p.v, &p.bq, 3, &mut g).unwrap();
        let eta = optimal_eta(10, 3, 0.25).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { eta } else { 0.0 };
                assert!((g[i * 3 + j] - want).abs() < 0.03 * eta, "{g:?} vs {eta}");
            }
        }
        // The same protocol with the gradient gemms on the CPU backend in f32.
        let q = train_lsa_on(
            &crate::backend::CpuBackend,
            &mut default_rng(11),
            &spec,
            &cfg,
            |_, _| {},
        )
        .unwrap();
        effective_gamma(&q.v, &q.bq, 3, &mut g).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { eta } else { 0.0 };
                assert!(
                    (g[i * 3 + j] - want).abs() < 0.03 * eta,
                    "backend: {g:?} vs {eta}"
                );
            }
        }
        let bad = LsaTrainConfig { lr: -1.0, ..cfg };
        assert!(matches!(
            train_lsa(&mut default_rng(1), &spec, &bad, |_, _| {}),
            Err(Error::InvalidParam { name: "lr", .. })
        ));
    }
}
