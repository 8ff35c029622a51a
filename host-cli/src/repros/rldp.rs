//! Repro `rldp` (spec 11, Khadangi et al. 2025, arXiv 2507.22565): the controller interface at a
//! fixed privacy budget. DP-SGD logistic regression (d = 20, N = 10 000, Poisson q = 0.01,
//! T = 1000, eps = 3 at delta = 1e-5, z = 0.8646) with fixed clip norms C in {0.01 .. 100} against
//! quantile-adaptive clipping (Andrew et al. 2021, arXiv 1905.03871) started from C0 in
//! {0.01, 1, 100}; the adaptive knobs are then replayed through the RL hook (scripted policy). The
//! SAC policy itself is not part of this repro (spec: too slow/noisy at this scale).
//!
//! PASS (spec): (1) every run's ledger epsilon equals 3.0 within 1e-6 (adaptive runs charged z, not
//! z_Delta); (2) every adaptive C0's mean accuracy is within 0.01 of the best fixed C's; (3) the
//! worst fixed C is >= 0.04 below the best (the experiment is informative); (4) every adaptive
//! final C is within a factor 2 of the median per-sample gradient norm at its final weights;
//! (5) the RL-hook replay reproduces the adaptive run (knobs to 1e-12 relative, final weights to
//! 1e-6, same epsilon).

use anyhow::{bail, Result};
use noisekit::accounting::{noise_for_target, RdpLedger, OPACUS_ORDERS};
use noisekit::privacy::{
    clip_and_sum_groups, dpsgd::add_group_noise, poisson_sample, ActionRanges, AdaptiveConfig,
    Controller, ControllerObs, Fixed, Knobs, NanPolicy, Policy, QuantileAdaptiveClip, RawStats,
    RlHook,
};
use noisekit::rng::{seq, DefaultRng, NoiseKey};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

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
}

struct Data {
    x: Vec<f32>,
    y: Vec<f32>,
    xt: Vec<f32>,
    yt: Vec<f32>,
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
    Data { x, y, xt, yt }
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
}

/// One DP-SGD run driven by `ctrl`; the batch stream and the noise key are shared by all runs of
/// a trial (common random numbers).
fn train(
    ctrl: &mut dyn Controller,
    data: &Data,
    cfg: &Config,
    sample_seed: u64,
    key: NoiseKey,
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
    for t in 0..cfg.steps {
        let knobs = ctrl.act(t)?;
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
            public_loss: None,
            eps_spent: eps,
            eps_target: cfg.epsilon,
            raw: Some(RawStats {
                norms: &norms[..b],
                groups: 1,
            }),
        })?;
        knobs_log.push(knobs);
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
    })
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
        "Adaptive clipping removes the sensitivity to the clip norm at a fixed (eps, delta); controllers share one exact ledger"
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
                let r = train(&mut ctrl, &data, &cfg, sample_seed, key)?;
                fixed_acc[i] += r.acc / cfg.trials as f64;
                eps_err = eps_err.max((r.eps - cfg.epsilon).abs());
            }
            for (i, &c0) in cfg.adaptive_c0.iter().enumerate() {
                let ckey = ctx.noise_key(10_000 + trial as u32 * 16 + i as u32);
                let mut ctrl = QuantileAdaptiveClip::new(c0, z, m, acfg, ckey)?;
                let r = train(&mut ctrl, &data, &cfg, sample_seed, key)?;
                adapt_acc[i] += r.acc / cfg.trials as f64;
                adapt_clip[i] += r.final_clip / cfg.trials as f64;
                eps_err = eps_err.max((r.eps - cfg.epsilon).abs());
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
                let rr = train(&mut hook, &data, &cfg, sample_seed, key)?;
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

        let mut out = Outcome::new(
            &cfg,
            "(1) |ledger eps - 3| <= 1e-6 for every run; (2) every adaptive mean accuracy >= best fixed - 0.01; \
             (3) best fixed - worst fixed >= 0.04; (4) adaptive final C within x2 of the median per-sample norm; \
             (5) RL-hook replay of the adaptive knobs reproduces the run (knobs 1e-12 rel, weights 1e-6, eps 1e-12)",
        )?;
        out.pass = c1 && c2 && c3 && c4 && c5;
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
            );
        let mut table = Table::new(&["controller", "C0", "mean test acc", "final C (mean)", "eps"]);
        for (i, &c) in cfg.fixed_clips.iter().enumerate() {
            table.row(&[
                "fixed".to_string(),
                num(c),
                format!("{:.4}", fixed_acc[i]),
                num(c),
                format!("{:.6}", cfg.epsilon),
            ]);
        }
        for (i, &c) in cfg.adaptive_c0.iter().enumerate() {
            table.row(&[
                "adaptive".to_string(),
                num(c),
                format!("{:.4}", adapt_acc[i]),
                num(adapt_clip[i]),
                format!("{:.6}", cfg.epsilon),
            ]);
        }
        out.table = table;
        out.csv.push(("clip_trajectory.csv".into(), traj_table));
        out.notes.push(format!(
            "z = {z:.10} for eps = {} at delta = {} (q = {}, T = {}); adaptive runs use z_Delta for the gradient \
             and 2 sigma_b = {} for the count, charged z. Ledger eps max error {eps_err:.2e}.",
            cfg.epsilon, cfg.delta, cfg.q, cfg.steps, 2.0 * acfg.count_std
        ));
        out.notes.push("The SAC hyper-policy is not run here (spec: optional --with-sac, host only); the RL hook path is exercised by replaying the adaptive knobs.".into());
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
            "Adaptive clip norm C over training (trial 0)",
            "step",
            "C",
        )
        .log(false, true);
        for s in traj_plot {
            p = p.with(s);
        }
        out.plots.push(p);
        Ok(out)
    }
}
