//! Repro `rldp` (spec 11, Khadangi et al. 2025, arXiv 2507.22565): the controller interface at a
//! fixed privacy budget. DP-SGD logistic regression (d = 20, N = 10 000, Poisson q = 0.01,
//! T = 1000, eps = 3 at delta = 1e-5, z = 0.8646) with fixed clip norms C in {0.01 .. 100} against
//! quantile-adaptive clipping (Andrew et al. 2021, arXiv 1905.03871) started from C0 in
//! {0.01, 1, 100}; the adaptive knobs are then replayed through the RL hook (scripted policy).
//! Third controller: RLDP's SAC hyper-policy ([`noisekit::privacy::SacPolicy`], Haarnoja et al.
//! 2018, arXiv 1801.01290), trained online in each run from the reward
//! `r = (L_prev - L_now)/L_prev - lambda (eps_now - eps_prev)/eps_target` on a public batch, acting
//! every 10 steps behind the budget guard: once with its noise action pinned at the calibrated z
//! (clip only, gated) and once with the spec's full action range z in [0.3, 10] (reported).
//!
//! PASS (spec): (1) every run's ledger epsilon equals 3.0 within 1e-6 (adaptive runs charged z, not
//! z_Delta); (2) every adaptive C0's mean accuracy is within 0.01 of the best fixed C's; (3) the
//! worst fixed C is >= 0.04 below the best (the experiment is informative); (4) every adaptive
//! final C is within a factor 2 of the median per-sample gradient norm at its final weights;
//! (5) the RL-hook replay reproduces the adaptive run (knobs to 1e-12 relative, final weights to
//! 1e-6, same epsilon); (6) every SAC run ends with ledger eps <= 3 (1 + 1e-9); (7) the clip-only
//! SAC's mean accuracy is within 0.01 of the best fixed C's. Reported, not gated: the number of
//! DP-SGD updates each controller needs to reach the best fixed C's final accuracy (less one
//! test-set standard error). The paper's "SAC beats fixed" claim is not reproduced at this scale.

use anyhow::{bail, Result};
use noisekit::accounting::{noise_for_target, RdpLedger, OPACUS_ORDERS};
use noisekit::privacy::{
    clip_and_sum_groups, dpsgd::add_group_noise, poisson_sample, ActionRanges, AdaptiveConfig,
    BudgetGuard, Controller, ControllerObs, Fixed, Knobs, NanPolicy, Policy, QuantileAdaptiveClip,
    RawStats, RlHook, SacPolicy, SacPolicyConfig,
};
use noisekit::rng::{seq, DefaultRng, NoiseKey};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// PASS tolerance of the SAC controller's mean accuracy below the best fixed C (as for adaptive).
const SAC_ACC_TOL: f64 = 0.01;

/// The `rldp` reproduction.
pub struct Rldp;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    n_train: usize,
    n_test: usize,
    dim: usize,
    q: f64,
    steps: u64,
    lr: f64,
    delta: f64,
    epsilon: f64,
    fixed_clips: Vec<f64>,
    adaptive_c0: Vec<f64>,
    quantile: f64,
    clip_lr: f64,
    /// Count noise std as a fraction of the expected batch size (spec: m / 20).
    count_std_frac: f64,
    trials: u64,
    /// Public (validation) samples for the SAC reward, drawn after the test set.
    #[serde(default = "default_public")]
    n_public: usize,
    /// Test accuracy is recorded every this many steps (update-budget curves).
    #[serde(default = "default_eval_every")]
    eval_every: u64,
    /// The SAC hyper-policy (third controller).
    #[serde(default)]
    sac: SacSettings,
}

fn default_public() -> usize {
    1000
}

fn default_eval_every() -> u64 {
    10
}

/// Settings of the SAC controller (spec 11 section 3(c)).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SacSettings {
    /// Optimiser steps per action (spec: 10 for the small repro).
    period: u64,
    /// Clip range (spec: [1e-3, 10] x the initial C, initial C = 1).
    clip_min: f64,
    clip_max: f64,
    /// Noise-multiplier range of the second, reported-only SAC run (spec: [0.3, 10]); the gated
    /// SAC run holds the noise at the calibrated z (its noise action is pinned).
    wide_z_min: f64,
    wide_z_max: f64,
    /// Whether to run the wide-noise SAC.
    run_wide: bool,
    /// Budget-guard ceiling (spec: 50).
    z_cap: f64,
    /// Hidden width of the actor and critics.
    hidden: usize,
    /// SAC minibatch (RLDP README example: 4; here 32).
    batch: usize,
    /// SAC gradient updates per action (RLDP README example: 2; here 4).
    updates_per_action: usize,
    /// Learning rate of actor, critics and temperature (SAC paper: 3e-4; here 3e-3). With the
    /// README's batch 4, 2 updates and lr 3e-4 the ~200 updates of one run leave the policy at its
    /// initial distribution.
    lr: f64,
    /// Privacy-spend weight in the reward (spec: 1).
    lambda: f64,
}

impl Default for SacSettings {
    fn default() -> Self {
        Self {
            period: 10,
            clip_min: 1e-3,
            clip_max: 10.0,
            wide_z_min: 0.3,
            wide_z_max: 10.0,
            run_wide: true,
            z_cap: 50.0,
            hidden: 32,
            batch: 32,
            updates_per_action: 4,
            lr: 3e-3,
            lambda: 1.0,
        }
    }
}

struct Data {
    x: Vec<f32>,
    y: Vec<f32>,
    xt: Vec<f32>,
    yt: Vec<f32>,
    xp: Vec<f32>,
    yp: Vec<f32>,
}

fn make_data(rng: &mut DefaultRng, cfg: &Config) -> Data {
    let d = cfg.dim;
    let mut w: Vec<f64> = (0..d).map(|_| seq::normal(rng)).collect();
    let nrm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    w.iter_mut().for_each(|v| *v /= nrm);
    let mut gen = |n: usize| {
        let mut x = vec![0f32; n * d];
        let mut y = vec![0f32; n];
        for i in 0..n {
            let s = 2.0 * (0.5 * seq::normal(rng)).exp();
            let mut dot = 0.0;
            for j in 0..d {
                let v = s * seq::normal(rng);
                x[i * d + j] = v as f32;
                dot += v * w[j];
            }
            let p = 1.0 / (1.0 + (-1.5 * dot).exp());
            y[i] = if seq::uniform(rng) < p { 1.0 } else { 0.0 };
        }
        (x, y)
    };
    let (x, y) = gen(cfg.n_train);
    let (xt, yt) = gen(cfg.n_test);
    let (xp, yp) = gen(cfg.n_public);
    Data {
        x,
        y,
        xt,
        yt,
        xp,
        yp,
    }
}

/// Per-sample gradient of the log-loss of logistic regression with bias: (p - y) [x, 1].
fn per_sample_grad(w: &[f32], x: &[f32], y: f32, out: &mut [f32]) {
    let d = x.len();
    let z: f32 = w[..d].iter().zip(x).map(|(a, b)| a * b).sum::<f32>() + w[d];
    let r = 1.0 / (1.0 + (-z).exp()) - y;
    for j in 0..d {
        out[j] = r * x[j];
    }
    out[d] = r;
}

fn accuracy(w: &[f32], x: &[f32], y: &[f32], d: usize) -> f64 {
    let mut ok = 0usize;
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let z: f32 = w[..d].iter().zip(xi).map(|(a, b)| a * b).sum::<f32>() + w[d];
        ok += usize::from((z > 0.0) == (yi > 0.5));
    }
    ok as f64 / y.len() as f64
}

/// Mean log-loss of the model on `(x, y)`.
fn log_loss(w: &[f32], x: &[f32], y: &[f32], d: usize) -> f64 {
    let mut total = 0.0f64;
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let z = (w[..d].iter().zip(xi).map(|(a, b)| a * b).sum::<f32>() + w[d]) as f64;
        // log(1 + e^z) - y z, stably.
        let sp = if z > 0.0 {
            z + (-z).exp().ln_1p()
        } else {
            z.exp().ln_1p()
        };
        total += sp - yi as f64 * z;
    }
    total / y.len().max(1) as f64
}

/// First step at which `curve` reaches `target` (None: never).
fn first_reach(curve: &[(f64, f64)], target: f64) -> Option<f64> {
    curve.iter().find(|p| p.1 >= target).map(|p| p.0)
}

/// Pointwise mean of equally sampled curves.
fn mean_curve(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    (0..first.len())
        .map(|i| {
            let m = curves.iter().map(|c| c[i].1).sum::<f64>() / curves.len() as f64;
            (first[i].0, m)
        })
        .collect()
}

fn median_grad_norm(w: &[f32], data: &Data, d: usize) -> f64 {
    let mut g = vec![0f32; d + 1];
    let mut norms: Vec<f64> = data
        .x
        .chunks_exact(d)
        .zip(&data.y)
        .map(|(xi, &yi)| {
            per_sample_grad(w, xi, yi, &mut g);
            g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt()
        })
        .collect();
    norms.sort_by(|a, b| a.total_cmp(b));
    norms[norms.len() / 2]
}

struct RunResult {
    acc: f64,
    eps: f64,
    final_clip: f64,
    clip_traj: Vec<(f64, f64)>,
    knobs: Vec<Knobs>,
    w: Vec<f32>,
    /// `(step, test accuracy)` every `eval_every` steps, from step 0.
    acc_curve: Vec<(f64, f64)>,
    /// `(step, z_eff)` every 100 steps (after the guard).
    noise_traj: Vec<(f64, f64)>,
    /// Steps whose proposal the guard raised.
    guard_raised: u64,
    /// Step at which the guard stopped the run (budget exhausted even at its ceiling).
    stopped_at: Option<u64>,
}

/// What a run records beyond the default.
#[derive(Debug, Clone, Copy, Default)]
struct RunOpts {
    /// Report the public-set loss to the controller.
    public_loss: bool,
    /// Run the budget guard with this ceiling.
    guard_cap: Option<f64>,
}

/// One DP-SGD run driven by `ctrl`; the batch stream and the noise key are shared by all runs of
/// a trial (common random numbers).
fn train(
    ctrl: &mut dyn Controller,
    data: &Data,
    cfg: &Config,
    sample_seed: u64,
    key: NoiseKey,
    opts: RunOpts,
) -> Result<RunResult> {
    let d = cfg.dim;
    let p = d + 1;
    let n = cfg.n_train;
    let m = cfg.q * n as f64;
    let mut rng = seq::default_rng(sample_seed);
    let mut ledger = RdpLedger::with_orders(&OPACUS_ORDERS)?;
    let mut w = vec![0f32; p];
    let cap = (m + 10.0 * m.sqrt() + 20.0) as usize;
    let mut idx = vec![0u32; cap];
    let mut per = vec![0f32; cap * p];
    let mut norms = vec![0f32; cap];
    let mut sum = vec![0f32; p];
    let mut clip_traj = Vec::new();
    let mut knobs_log = Vec::new();
    let blocks_per_step = p.div_ceil(4) as u64;
    let eval_every = cfg.eval_every.max(1);
    let mut acc_curve = vec![(0.0, accuracy(&w, &data.xt, &data.yt, d))];
    let mut noise_traj = Vec::new();
    let mut guard = match opts.guard_cap {
        Some(cap) => Some(BudgetGuard::new(
            &ledger,
            cfg.epsilon,
            cfg.delta,
            cfg.q,
            cfg.steps,
            cap,
            1e-10,
        )?),
        None => None,
    };
    let mut guard_raised = 0u64;
    let mut stopped_at = None;
    for t in 0..cfg.steps {
        let mut knobs = ctrl.act(t)?;
        if let Some(g) = guard.as_mut() {
            let z0 = knobs.z_eff()?;
            let z1 = match g.admit(&ledger, t, z0) {
                Ok(z1) => z1,
                // Spec 11 section 4: infeasible even at the ceiling -> stop training.
                Err(noisekit::Error::BudgetExceeded { .. }) => {
                    stopped_at = Some(t);
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            if z1 > z0 {
                knobs.scale_noise(z1 / z0);
                guard_raised += 1;
            }
        }
        if t % 100 == 0 {
            noise_traj.push((t as f64, knobs.z_eff()?));
        }
        let c = knobs.clip[0] as f32;
        let z = knobs.noise[0] as f32;
        if t % 100 == 0 {
            clip_traj.push((t as f64, knobs.clip[0]));
        }
        let b = poisson_sample(&mut rng, n, cfg.q, &mut idx)?;
        for (r, &i) in idx[..b].iter().enumerate() {
            let i = i as usize;
            per_sample_grad(
                &w,
                &data.x[i * d..(i + 1) * d],
                data.y[i],
                &mut per[r * p..(r + 1) * p],
            );
        }
        sum.fill(0.0);
        clip_and_sum_groups(
            &per[..b * p],
            b,
            &[p],
            &[c],
            NanPolicy::Error,
            &mut sum,
            Some(&mut norms[..b]),
        )?;
        add_group_noise(
            &[p],
            &[c],
            &[z],
            &key.advanced(t * blocks_per_step),
            &mut sum,
        );
        let scale = (cfg.lr / m) as f32;
        let mut gnorm = 0.0f64;
        for (wj, &g) in w.iter_mut().zip(&sum) {
            *wj -= scale * g;
            gnorm += (g as f64 / m).powi(2);
        }
        ledger.compose(cfg.q, knobs.z_eff()?, 1)?;
        let eps = ledger.epsilon(cfg.delta)?.value;
        ctrl.observe(&ControllerObs {
            step: t,
            total_steps: cfg.steps,
            noisy_grad_norm: gnorm.sqrt(),
            public_loss: opts
                .public_loss
                .then(|| log_loss(&w, &data.xp, &data.yp, d)),
            eps_spent: eps,
            eps_target: cfg.epsilon,
            raw: Some(RawStats {
                norms: &norms[..b],
                groups: 1,
            }),
        })?;
        knobs_log.push(knobs);
        if (t + 1) % eval_every == 0 {
            acc_curve.push(((t + 1) as f64, accuracy(&w, &data.xt, &data.yt, d)));
        }
    }
    // A stopped run keeps its weights: its accuracy stays flat for the remaining evaluations.
    let last_acc = acc_curve.last().map_or(0.5, |p| p.1);
    let mut next_eval = acc_curve.last().map_or(0.0, |p| p.0) + eval_every as f64;
    while next_eval <= cfg.steps as f64 && stopped_at.is_some() {
        acc_curve.push((next_eval, last_acc));
        next_eval += eval_every as f64;
    }
    let final_clip = ctrl.act(cfg.steps)?.clip[0];
    clip_traj.push((cfg.steps as f64, final_clip));
    Ok(RunResult {
        acc: accuracy(&w, &data.xt, &data.yt, d),
        eps: ledger.epsilon(cfg.delta)?.value,
        final_clip,
        clip_traj,
        knobs: knobs_log,
        w,
        acc_curve,
        noise_traj,
        guard_raised,
        stopped_at,
    })
}

/// Trial aggregates of one SAC controller.
#[derive(Default)]
struct SacAgg {
    curves: Vec<Vec<(f64, f64)>>,
    acc: f64,
    clip: f64,
    eps_max: f64,
    eps_mean: f64,
    updates: u64,
    raised: u64,
    stopped: u64,
    ret: f64,
    alpha: f64,
    knob_plot: Vec<(f64, f64)>,
    noise_plot: Vec<(f64, f64)>,
}

/// One DP-SGD run driven by a fresh SAC hyper-policy behind the budget guard; the noise
/// multiplier range is `[z_lo, z_hi]`.
#[allow(clippy::too_many_arguments)]
fn run_sac(
    agg: &mut SacAgg,
    knob_table: &mut Table,
    data: &Data,
    cfg: &Config,
    sample_seed: u64,
    key: NoiseKey,
    sac_seed: u64,
    (z_lo, z_hi): (f64, f64),
    trial: u64,
) -> Result<()> {
    let sc = &cfg.sac;
    let mut pcfg = SacPolicyConfig::new(1, sac_seed);
    pcfg.sac.hidden = sc.hidden;
    pcfg.sac.batch = sc.batch;
    pcfg.sac.lr_actor = sc.lr;
    pcfg.sac.lr_critic = sc.lr;
    pcfg.sac.lr_alpha = sc.lr;
    pcfg.warmup = sc.batch;
    pcfg.updates_per_action = sc.updates_per_action;
    pcfg.lambda = sc.lambda;
    let ranges = ActionRanges {
        clip_min: sc.clip_min,
        clip_max: sc.clip_max,
        z_min: z_lo,
        z_max: z_hi,
    };
    let mut hook = RlHook::new(SacPolicy::new(pcfg)?, 1, ranges, sc.period, None)?;
    let r = train(
        &mut hook,
        data,
        cfg,
        sample_seed,
        key,
        RunOpts {
            public_loss: true,
            guard_cap: Some(sc.z_cap),
        },
    )?;
    let n = cfg.trials as f64;
    let pol = hook.policy_mut();
    agg.updates += pol.updates();
    agg.ret += pol.rewards().iter().sum::<f64>() / n;
    agg.alpha += pol.last_losses().alpha / n;
    agg.acc += r.acc / n;
    agg.clip += r.final_clip / n;
    agg.eps_max = agg.eps_max.max(r.eps);
    agg.eps_mean += r.eps / n;
    agg.raised += r.guard_raised;
    agg.stopped += u64::from(r.stopped_at.is_some());
    for (&(st, c), &(_, z)) in r.clip_traj.iter().zip(&r.noise_traj) {
        knob_table.row(&[trial.to_string(), num(st), num(c), num(z)]);
    }
    if trial == 0 {
        agg.knob_plot = r.clip_traj.clone();
        agg.noise_plot = r.noise_traj.clone();
    }
    agg.curves.push(r.acc_curve);
    Ok(())
}

/// Replays recorded knobs as RL-hook actions.
struct Scripted {
    actions: Vec<[f64; 2]>,
    next: usize,
}

impl Policy for Scripted {
    fn action(&mut self, _features: &[f64], action: &mut [f64]) -> noisekit::Result<()> {
        let a = self.actions.get(self.next).copied().unwrap_or([0.0, 0.0]);
        action.copy_from_slice(&a);
        self.next += 1;
        Ok(())
    }
}

impl Repro for Rldp {
    fn name(&self) -> &'static str {
        "rldp"
    }
    fn spec(&self) -> &'static str {
        "11"
    }
    fn title(&self) -> &'static str {
        "Adaptive clipping removes the sensitivity to the clip norm at a fixed (eps, delta); a SAC hyper-policy behind the budget guard keeps the contract; controllers share one exact ledger"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            n_train: 10_000,
            n_test: 5_000,
            dim: 20,
            q: 0.01,
            steps: 1000,
            lr: 0.5,
            delta: 1e-5,
            epsilon: 3.0,
            fixed_clips: vec![0.01, 0.1, 1.0, 10.0, 100.0],
            adaptive_c0: vec![0.01, 1.0, 100.0],
            quantile: 0.5,
            clip_lr: 0.2,
            count_std_frac: 0.05,
            // The spec's protocol: seeds 0, 1, 2 (three trials) at both scales.
            trials: 3,
            n_public: default_public(),
            eval_every: default_eval_every(),
            sac: SacSettings::default(),
        })?;
        if cfg.trials == 0
            || cfg.fixed_clips.len() < 2
            || cfg.adaptive_c0.is_empty()
            || cfg.dim == 0
        {
            bail!("config: trials >= 1, at least two fixed clips, one adaptive C0, dim >= 1");
        }
        let m = cfg.q * cfg.n_train as f64;
        let z = noise_for_target(cfg.epsilon, cfg.delta, cfg.q, cfg.steps, &OPACUS_ORDERS)?;
        let acfg = AdaptiveConfig {
            quantile: cfg.quantile,
            lr: cfg.clip_lr,
            count_std: cfg.count_std_frac * m,
            ..AdaptiveConfig::defaults(m)
        };
        let nf = cfg.fixed_clips.len();
        let na = cfg.adaptive_c0.len();
        let mut fixed_acc = vec![0.0; nf];
        let mut adapt_acc = vec![0.0; na];
        let mut adapt_clip = vec![0.0; na];
        let mut eps_err: f64 = 0.0;
        let mut median_ratio_worst: f64 = 1.0;
        let mut replay_knob_err: f64 = 0.0;
        let mut replay_w_err: f64 = 0.0;
        let mut replay_eps_err: f64 = 0.0;
        let mut traj_plot: Vec<Series> = Vec::new();
        let mut traj_table = Table::new(&["trial", "C0", "step", "C"]);
        let mut fixed_curves: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); nf];
        let mut adapt_curves: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); na];
        let mut sac = SacAgg::default();
        let mut wide = SacAgg::default();
        let mut sac_knob_table = Table::new(&["trial", "step", "C", "z_eff (after guard)"]);
        let mut wide_knob_table = Table::new(&["trial", "step", "C", "z_eff (after guard)"]);
        let sc = &cfg.sac;
        let pb = ctx.progress(cfg.trials, "trials");
        for trial in 0..cfg.trials {
            let data = make_data(&mut ctx.rng(100 + trial), &cfg);
            let sample_seed = ctx
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(7919 * trial + 1);
            let key = ctx.noise_key(trial as u32);
            for (i, &c) in cfg.fixed_clips.iter().enumerate() {
                let mut ctrl = Fixed::new(Knobs::uniform(1, c, z)?)?;
                let r = train(&mut ctrl, &data, &cfg, sample_seed, key, RunOpts::default())?;
                fixed_acc[i] += r.acc / cfg.trials as f64;
                eps_err = eps_err.max((r.eps - cfg.epsilon).abs());
                fixed_curves[i].push(r.acc_curve);
            }
            for (i, &c0) in cfg.adaptive_c0.iter().enumerate() {
                let ckey = ctx.noise_key(10_000 + trial as u32 * 16 + i as u32);
                let mut ctrl = QuantileAdaptiveClip::new(c0, z, m, acfg, ckey)?;
                let r = train(&mut ctrl, &data, &cfg, sample_seed, key, RunOpts::default())?;
                adapt_acc[i] += r.acc / cfg.trials as f64;
                adapt_clip[i] += r.final_clip / cfg.trials as f64;
                eps_err = eps_err.max((r.eps - cfg.epsilon).abs());
                adapt_curves[i].push(r.acc_curve.clone());
                let med = median_grad_norm(&r.w, &data, cfg.dim);
                let ratio = (r.final_clip / med).max(med / r.final_clip);
                median_ratio_worst = median_ratio_worst.max(ratio);
                for &(s, c) in &r.clip_traj {
                    traj_table.row(&[trial.to_string(), num(c0), num(s), num(c)]);
                }
                if trial == 0 {
                    traj_plot.push(Series::line(
                        format!("adaptive, C0 = {c0}"),
                        r.clip_traj.clone(),
                    ));
                }
                // (5) Replay the adaptive knobs through the RL hook.
                let ranges = ActionRanges {
                    clip_min: 1e-6,
                    clip_max: 1e6,
                    z_min: 0.05,
                    z_max: 20.0,
                };
                let actions = r
                    .knobs
                    .iter()
                    .map(|k| {
                        [
                            ActionRanges::unmap(k.clip[0], ranges.clip_min, ranges.clip_max),
                            ActionRanges::unmap(k.noise[0], ranges.z_min, ranges.z_max),
                        ]
                    })
                    .collect();
                let mut hook = RlHook::new(
                    Scripted { actions, next: 0 },
                    1,
                    ranges,
                    1,
                    Some(2.0 * acfg.count_std),
                )?;
                let rr = train(&mut hook, &data, &cfg, sample_seed, key, RunOpts::default())?;
                for (a, b) in r.knobs.iter().zip(&rr.knobs) {
                    replay_knob_err = replay_knob_err
                        .max(((a.clip[0] - b.clip[0]) / a.clip[0]).abs())
                        .max(((a.noise[0] - b.noise[0]) / a.noise[0]).abs());
                }
                for (a, b) in r.w.iter().zip(&rr.w) {
                    replay_w_err = replay_w_err.max(((a - b).abs() / a.abs().max(1e-3)) as f64);
                }
                replay_eps_err = replay_eps_err.max((r.eps - rr.eps).abs());
            }
            // (6, 7) The SAC hyper-policy, trained online in this run, behind the budget guard:
            // clip action only (noise pinned at z), then (reported) clip and noise actions.
            let sac_seed = ctx.seed.wrapping_mul(7_919).wrapping_add(500 + trial);
            run_sac(
                &mut sac,
                &mut sac_knob_table,
                &data,
                &cfg,
                sample_seed,
                key,
                sac_seed,
                (z, z),
                trial,
            )?;
            if sc.run_wide {
                run_sac(
                    &mut wide,
                    &mut wide_knob_table,
                    &data,
                    &cfg,
                    sample_seed,
                    key,
                    sac_seed,
                    (sc.wide_z_min, sc.wide_z_max),
                    trial,
                )?;
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        let best_fixed = fixed_acc.iter().cloned().fold(f64::MIN, f64::max);
        let worst_fixed = fixed_acc.iter().cloned().fold(f64::MAX, f64::min);
        let adapt_gap = adapt_acc
            .iter()
            .map(|a| best_fixed - a)
            .fold(f64::MIN, f64::max);
        let c1 = eps_err <= 1e-6;
        let c2 = adapt_gap <= 0.01;
        let c3 = best_fixed - worst_fixed >= 0.04;
        let c4 = median_ratio_worst <= 2.0;
        let c5 = replay_knob_err <= 1e-12 && replay_w_err <= 1e-6 && replay_eps_err <= 1e-12;
        // Update budget: first step at which the trial-mean test accuracy reaches the best fixed
        // controller's final accuracy, less one binomial standard error of the test set.
        let best_idx = fixed_acc
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        let se = (best_fixed * (1.0 - best_fixed) / cfg.n_test as f64).sqrt();
        let reach_target = best_fixed - se;
        let fixed_mean: Vec<Vec<(f64, f64)>> = fixed_curves.iter().map(|c| mean_curve(c)).collect();
        let adapt_mean: Vec<Vec<(f64, f64)>> = adapt_curves.iter().map(|c| mean_curve(c)).collect();
        let sac_mean = mean_curve(&sac.curves);
        let wide_mean = mean_curve(&wide.curves);
        let fixed_reach: Vec<Option<f64>> = fixed_mean
            .iter()
            .map(|c| first_reach(c, reach_target))
            .collect();
        let adapt_reach: Vec<Option<f64>> = adapt_mean
            .iter()
            .map(|c| first_reach(c, reach_target))
            .collect();
        let sac_reach = first_reach(&sac_mean, reach_target);
        let wide_reach = first_reach(&wide_mean, reach_target);
        let best_reach = fixed_reach[best_idx];
        let c6 = sac.eps_max.max(wide.eps_max) <= cfg.epsilon * (1.0 + 1e-9);
        let sac_gap = best_fixed - sac.acc;
        let c7 = sac_gap <= SAC_ACC_TOL;

        let mut out = Outcome::new(
            &cfg,
            "(1) |ledger eps - 3| <= 1e-6 for every run; (2) every adaptive mean accuracy >= best fixed - 0.01; \
             (3) best fixed - worst fixed >= 0.04; (4) adaptive final C within x2 of the median per-sample norm; \
             (5) RL-hook replay of the adaptive knobs reproduces the run (knobs 1e-12 rel, weights 1e-6, eps 1e-12); \
             (6) every SAC run (budget guard active) ends with ledger eps <= 3 (1 + 1e-9); \
             (7) clip-only SAC mean accuracy >= best fixed - 0.01. Reported, not gated: the update budget each controller \
             needs to reach the best fixed C's final accuracy (within one test-set standard error)",
        )?;
        out.pass = c1 && c2 && c3 && c4 && c5 && c6 && c7;
        out.measure("z", z)
            .measure("max_eps_error", eps_err)
            .measure("best_fixed_acc", best_fixed)
            .measure("worst_fixed_acc", worst_fixed)
            .measure("max_adaptive_gap_to_best_fixed", adapt_gap)
            .measure("worst_clip_to_median_ratio", median_ratio_worst)
            .measure("replay_knob_rel_err", replay_knob_err)
            .measure("replay_weight_rel_err", replay_w_err)
            .measure("replay_eps_err", replay_eps_err)
            .measure(
                "z_delta",
                noisekit::privacy::gradient_noise_for_total(z, acfg.count_std)?,
            )
            .measure("sac_acc", sac.acc)
            .measure("sac_gap_to_best_fixed", sac_gap)
            .measure("sac_max_eps", sac.eps_max)
            .measure("sac_mean_eps", sac.eps_mean)
            .measure("sac_final_clip_mean", sac.clip)
            .measure("sac_gradient_updates", sac.updates)
            .measure("sac_guard_raised_steps", sac.raised)
            .measure("sac_mean_return", sac.ret)
            .measure("sac_final_alpha_mean", sac.alpha)
            .measure("sac_wide_acc", wide.acc)
            .measure("sac_wide_max_eps", wide.eps_max)
            .measure("sac_wide_guard_raised_steps", wide.raised)
            .measure("sac_wide_runs_stopped_by_guard", wide.stopped)
            .measure("sac_runs_stopped_by_guard", sac.stopped)
            .measure("sac_wide_mean_return", wide.ret)
            .measure("sac_wide_steps_to_target", wide_reach)
            .measure("reach_target_acc", reach_target)
            .measure("best_fixed_steps_to_target", best_reach)
            .measure("adaptive_steps_to_target", &adapt_reach)
            .measure("sac_steps_to_target", sac_reach);
        let steps = |r: Option<f64>| match r {
            Some(v) => format!("{v:.0}"),
            None => "not reached".to_string(),
        };
        let mut table = Table::new(&[
            "controller",
            "C0",
            "mean test acc",
            "final C (mean)",
            "eps",
            "steps to best-fixed acc",
        ]);
        for (i, &c) in cfg.fixed_clips.iter().enumerate() {
            table.row(&[
                "fixed".to_string(),
                num(c),
                format!("{:.4}", fixed_acc[i]),
                num(c),
                format!("{:.6}", cfg.epsilon),
                steps(fixed_reach[i]),
            ]);
        }
        for (i, &c) in cfg.adaptive_c0.iter().enumerate() {
            table.row(&[
                "adaptive".to_string(),
                num(c),
                format!("{:.4}", adapt_acc[i]),
                num(adapt_clip[i]),
                format!("{:.6}", cfg.epsilon),
                steps(adapt_reach[i]),
            ]);
        }
        let c_mid = ActionRanges::map(0.0, sc.clip_min, sc.clip_max);
        table.row(&[
            "sac (clip; z fixed)".to_string(),
            num(c_mid),
            format!("{:.4}", sac.acc),
            num(sac.clip),
            format!("{:.6}", sac.eps_mean),
            steps(sac_reach),
        ]);
        if sc.run_wide {
            table.row(&[
                format!("sac (clip + z in [{}, {}])", sc.wide_z_min, sc.wide_z_max),
                num(c_mid),
                format!("{:.4}", wide.acc),
                num(wide.clip),
                format!("{:.6}", wide.eps_mean),
                steps(wide_reach),
            ]);
        }
        out.table = table;
        out.csv.push(("sac_knobs.csv".into(), sac_knob_table));
        if sc.run_wide {
            out.csv.push(("sac_wide_knobs.csv".into(), wide_knob_table));
        }
        let mut curve_table = Table::new(&[
            "step",
            "best fixed",
            "adaptive (first C0)",
            "sac (clip)",
            "sac (clip + z)",
        ]);
        for (i, &(st, a)) in fixed_mean[best_idx].iter().enumerate() {
            curve_table.row(&[
                num(st),
                format!("{a:.4}"),
                format!("{:.4}", adapt_mean.first().map_or(f64::NAN, |c| c[i].1)),
                format!("{:.4}", sac_mean.get(i).map_or(f64::NAN, |c| c.1)),
                format!("{:.4}", wide_mean.get(i).map_or(f64::NAN, |c| c.1)),
            ]);
        }
        out.csv.push(("accuracy_curves.csv".into(), curve_table));
        out.csv.push(("clip_trajectory.csv".into(), traj_table));
        out.notes.push(format!(
            "z = {z:.10} for eps = {} at delta = {} (q = {}, T = {}); adaptive runs use z_Delta for the gradient \
             and 2 sigma_b = {} for the count, charged z. Ledger eps max error {eps_err:.2e}.",
            cfg.epsilon, cfg.delta, cfg.q, cfg.steps, 2.0 * acfg.count_std
        ));
        out.notes.push(format!(
            "SAC hyper-policy (Haarnoja et al. 2018; RLDP reward r = relative public-loss drop - {} x eps-fraction spent), \
             trained online in each run, acting every {} steps on the privacy-safe features (progress, eps fraction, \
             noisy gradient norm, loss on {} public samples), C in [{}, {}], budget guard z_cap = {}; SAC batch {}, \
             {} updates per action, lr {}. Clip-only SAC (noise pinned at z): {} SAC gradient updates over {} runs, \
             mean accuracy {:.4} (best fixed C = {}: {best_fixed:.4}, gap {sac_gap:.4}), eps max {:.6}, final alpha {:.3} \
             (initial 1). One run gives the hyper-policy only ~{} transitions.",
            sc.lambda, sc.period, cfg.n_public, sc.clip_min, sc.clip_max, sc.z_cap, sc.batch,
            sc.updates_per_action, sc.lr, sac.updates, cfg.trials, sac.acc, cfg.fixed_clips[best_idx],
            sac.eps_max, sac.alpha, cfg.steps / sc.period.max(1)
        ));
        if sc.run_wide {
            out.notes.push(format!(
                "SAC with the spec's full action (clip and noise, z in [{}, {}]), reported only: mean accuracy {:.4}, \
                 eps max {:.6} (the guard holds the contract), guard raised {} of {} steps and stopped {} runs early \
                 (budget exhausted even at z_cap). Exploring low z early \
                 spends the budget; the guard then raises z towards z_cap for the rest of the run, which destroys \
                 utility. The hyper-policy does not learn to avoid this within one run.",
                sc.wide_z_min, sc.wide_z_max, wide.acc, wide.eps_max, wide.raised, cfg.trials * cfg.steps,
                wide.stopped
            ));
        }
        out.notes.push(format!(
            "Update budget to reach the best fixed C's final accuracy less one test-set standard error ({reach_target:.4}): \
             best fixed {}, adaptive {}, SAC {} of {} steps.",
            steps(best_reach),
            adapt_reach.iter().map(|r| steps(*r)).collect::<Vec<_>>().join(" / "),
            steps(sac_reach),
            cfg.steps
        ));
        out.notes.push(
            "The paper's claims (SAC beats fixed DP-SGD in utility and reaches the baselines' final utility in \
             13-43% of their update budget) are NOT reproduced at this scale: the gated criterion (7) only asks the \
             clip-only SAC to stay within 0.01 of the best fixed C, as the spec asks of adaptive clipping."
                .into(),
        );
        let fixed_pts: Vec<(f64, f64)> = cfg
            .fixed_clips
            .iter()
            .zip(&fixed_acc)
            .map(|(&c, &a)| (c, a))
            .collect();
        let adapt_pts: Vec<(f64, f64)> = adapt_clip
            .iter()
            .zip(&adapt_acc)
            .map(|(&c, &a)| (c, a))
            .collect();
        out.plots.push(
            Plot::new(
                "accuracy_vs_clip.svg",
                "Test accuracy at eps = 3: fixed C vs adaptive (final C)",
                "clip norm C",
                "test accuracy",
            )
            .log(true, false)
            .with(Series::line("fixed C", fixed_pts))
            .with(Series::points("adaptive (at its final C)", adapt_pts)),
        );
        let mut p = Plot::new(
            "clip_trajectory.svg",
            "Clip norm C over training (trial 0): adaptive and SAC (and the wide SAC's z_eff)",
            "step",
            "C (or z_eff)",
        )
        .log(false, true);
        for s in traj_plot {
            p = p.with(s);
        }
        p = p.with(Series::line("SAC, clip only (C)", sac.knob_plot));
        if sc.run_wide {
            p = p.with(Series::line("SAC, clip + z (C)", wide.knob_plot));
            p = p.with(Series::line(
                "SAC, clip + z (z_eff after guard)",
                wide.noise_plot,
            ));
        }
        out.plots.push(p);
        let mut pc = Plot::new(
            "accuracy_curves.svg",
            "Test accuracy over training (mean of trials): best fixed C, adaptive, SAC",
            "step",
            "test accuracy",
        )
        .with(Series::line(
            format!("fixed C = {}", cfg.fixed_clips[best_idx]),
            fixed_mean[best_idx].clone(),
        ));
        if let (Some(c), Some(c0)) = (adapt_mean.first(), cfg.adaptive_c0.first()) {
            pc = pc.with(Series::line(format!("adaptive, C0 = {c0}"), c.clone()));
        }
        pc = pc.with(Series::line("SAC (clip only)", sac_mean.clone()));
        if sc.run_wide {
            pc = pc.with(Series::line("SAC (clip + z)", wide_mean.clone()));
        }
        out.plots.push(pc);
        Ok(out)
    }
}
