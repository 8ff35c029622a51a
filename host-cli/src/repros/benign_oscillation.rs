//! Repro `benign-oscillation` (spec 06): with a large learning rate, oscillating SGD learns the
//! weak feature shared by all examples; with a small one it only fits the strong feature and
//! memorises noise, so it is near chance on weak-feature-only test data (Lu et al. 2023,
//! arXiv:2310.17074).
//!
//! Data [`FeatureNoise`] (d = 50, |v| = 0.5, |u| = 4, rho = 0.8, sigma_p = 0.5, n = 100), model
//! [`PatchCnn`] (m = 10 shared ReLU^2 filters per class, init N(0, 0.05^2)), square loss on the
//! margin, SGD with batch 1 and global-norm clipping c = 1 (spec deviation to keep large-LR runs
//! bounded), 10 000 steps; small lr {0.01, 0.05}, large lr {0.7, 1.0}.

use anyhow::Result;
use noisekit::backend::{apply_update, UpdateRule};
use noisekit::dynamics::{stability_threshold, FeatureNoise, PatchCnn};
use noisekit::rng::seq;
use noisekit::update::clip_by_global_norm;
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `benign-oscillation` reproduction.
pub struct BenignOscillation;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    d: usize,
    v_norm: f32,
    u_norm: f32,
    rho: f64,
    sigma_p: f32,
    n_train: usize,
    n_test: usize,
    m: usize,
    init_std: f32,
    steps: usize,
    clip: f32,
    small_lrs: Vec<f32>,
    large_lrs: Vec<f32>,
    seeds: u64,
    /// Print the unclipped sweep (not gated).
    no_clip_sweep: bool,
}

struct Set {
    x: Vec<f32>,
    y: Vec<f32>,
}

fn sample(g: &FeatureNoise, rng: &mut noisekit::rng::DefaultRng, n: usize) -> Result<Set> {
    let mut x = vec![0f32; n * 3 * g.d];
    let mut y = vec![0f32; n];
    g.sample(rng, &mut x, &mut y)?;
    Ok(Set { x, y })
}

struct Run {
    diverged: bool,
    train_loss: f64,
    train_acc: f64,
    test_acc: f64,
    weak_acc: f64,
    align_weak: f64,
    align_strong: f64,
    overshoot: f64,
    residuals: Vec<(f64, f64)>,
}

fn acc(model: &PatchCnn, w: &[f32], s: &Set, dim: usize) -> Result<f64> {
    let mut hits = 0usize;
    for (x, &y) in s.x.chunks_exact(dim).zip(&s.y) {
        let f = model.forward(w, x)?;
        if f * y > 0.0 {
            hits += 1;
        }
    }
    Ok(hits as f64 / s.y.len().max(1) as f64)
}

fn train(
    cfg: &Config,
    data: &(Set, Set, Set),
    lr: f32,
    clip: Option<f32>,
    rng: &mut noisekit::rng::DefaultRng,
) -> Result<Run> {
    let (train, test, weak) = data;
    let model = PatchCnn {
        m: cfg.m,
        d: cfg.d,
        patches: 3,
        power: 2,
    };
    let dim = 3 * cfg.d;
    let mut w = vec![0f32; model.num_params()];
    seq::fill_gaussian_f32(rng, cfg.init_std, &mut w)?;
    let mut g = vec![0f32; w.len()];
    let n = train.y.len();
    let early = cfg.steps / 5;
    let (mut over, mut diverged) = (0usize, false);
    let mut residuals = Vec::new();
    let every = (cfg.steps / 400).max(1);
    for step in 0..cfg.steps {
        let i = seq::below(rng, n)?;
        let (x, y) = (&train.x[i * dim..(i + 1) * dim], train.y[i]);
        let (_, f) = model.square_loss_grad(&w, x, y, &mut g)?;
        if !f.is_finite() || f.abs() > 1e6 || g.iter().any(|v| !v.is_finite()) {
            diverged = true;
            break;
        }
        let r = y * f - 1.0;
        if step < early && r > 0.1 {
            over += 1;
        }
        if step % every == 0 {
            residuals.push((step as f64, r as f64));
        }
        if let Some(c) = clip {
            clip_by_global_norm(&mut [&mut g], c)?;
        }
        let rule = UpdateRule::Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            step: step as u64 + 1,
        };
        apply_update(&rule, &mut w, &g, &mut [], None, 0)?;
    }
    let mut loss = 0.0f64;
    if !diverged {
        for (x, &y) in train.x.chunks_exact(dim).zip(&train.y) {
            let f = model.forward(&w, x)?;
            loss += 0.5 * ((y * f - 1.0) as f64).powi(2);
        }
        diverged = !loss.is_finite();
    }
    let d = cfg.d;
    let align = |coord: usize| {
        w.chunks_exact(d)
            .map(|r| r[coord].abs() as f64)
            .fold(0.0, f64::max)
    };
    Ok(Run {
        diverged,
        train_loss: loss / n as f64,
        train_acc: if diverged {
            0.0
        } else {
            acc(&model, &w, train, dim)?
        },
        test_acc: if diverged {
            0.0
        } else {
            acc(&model, &w, test, dim)?
        },
        weak_acc: if diverged {
            0.0
        } else {
            acc(&model, &w, weak, dim)?
        },
        align_weak: align(0),
        align_strong: align(1),
        overshoot: over as f64 / early.max(1) as f64,
        residuals,
    })
}

impl Repro for BenignOscillation {
    fn name(&self) -> &'static str {
        "benign-oscillation"
    }
    fn spec(&self) -> &'static str {
        "06"
    }
    fn title(&self) -> &'static str {
        "Large-LR oscillating SGD learns the weak feature; small-LR SGD does not"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            d: 50,
            v_norm: 0.5,
            u_norm: 4.0,
            rho: 0.8,
            sigma_p: 0.5,
            n_train: 100,
            n_test: 1000,
            m: 10,
            init_std: 0.05,
            steps: 10_000,
            clip: 1.0,
            small_lrs: vec![0.01, 0.05],
            large_lrs: vec![0.7, 1.0],
            seeds: 3,
            no_clip_sweep: !ctx.quick,
        })?;
        if cfg.steps < 5 || cfg.seeds == 0 || cfg.small_lrs.is_empty() || cfg.large_lrs.is_empty() {
            anyhow::bail!("config: steps >= 5, seeds >= 1, non-empty small_lrs and large_lrs");
        }
        for &lr in cfg.small_lrs.iter().chain(&cfg.large_lrs) {
            if !(lr > 0.0 && lr.is_finite()) {
                anyhow::bail!("config: learning rates must be positive and finite (got {lr})");
            }
        }
        let gen = FeatureNoise {
            d: cfg.d,
            v_norm: cfg.v_norm,
            u_norm: cfg.u_norm,
            rho: cfg.rho,
            sigma_p: cfg.sigma_p,
        };
        gen.validate()?;
        let eta_crit = stability_threshold(cfg.m, cfg.u_norm as f64)?;
        let lrs: Vec<(f32, bool)> = cfg
            .small_lrs
            .iter()
            .map(|&l| (l, false))
            .chain(cfg.large_lrs.iter().map(|&l| (l, true)))
            .collect();
        let pb = ctx.progress(lrs.len() as u64 * cfg.seeds, "runs");
        let mut table = Table::new(&[
            "lr",
            "seed",
            "final train loss",
            "train acc",
            "test acc",
            "weak-only test acc",
            "max<w,e1>",
            "max<w,e2>",
            "overshoot frac (first 20%)",
        ]);
        let mut per_lr: Vec<(f32, bool, Vec<Run>)> = Vec::new();
        let mut plot = Plot::new(
            "residuals.svg",
            "Residual y f - 1 of the sampled example (seed 0)",
            "step",
            "y f - 1",
        );
        let datasets: Vec<(Set, Set, Set)> = (0..cfg.seeds)
            .map(|s| {
                let mut r = ctx.rng(s);
                Ok((
                    sample(&gen, &mut r, cfg.n_train)?,
                    sample(&gen, &mut r, cfg.n_test)?,
                    sample(&gen.weak_only(), &mut r, cfg.n_test)?,
                ))
            })
            .collect::<Result<_>>()?;
        for &(lr, large) in &lrs {
            let mut runs = Vec::new();
            for s in 0..cfg.seeds {
                let r = train(
                    &cfg,
                    &datasets[s as usize],
                    lr,
                    Some(cfg.clip),
                    &mut ctx.rng(100 + s),
                )?;
                table.row(&[
                    format!("{lr}"),
                    s.to_string(),
                    if r.diverged {
                        "diverged".into()
                    } else {
                        num(r.train_loss)
                    },
                    num(r.train_acc),
                    num(r.test_acc),
                    num(r.weak_acc),
                    num(r.align_weak),
                    num(r.align_strong),
                    num(r.overshoot),
                ]);
                if s == 0 && (lr == lrs[0].0 || lr == lrs[lrs.len() - 1].0) {
                    plot = plot.with(Series::points(format!("lr = {lr}"), r.residuals.clone()));
                }
                runs.push(r);
                pb.inc(1);
            }
            per_lr.push((lr, large, runs));
        }
        pb.finish_and_clear();
        let mean = |rs: &[Run], f: fn(&Run) -> f64| rs.iter().map(f).sum::<f64>() / rs.len() as f64;
        let small: Vec<&(f32, bool, Vec<Run>)> = per_lr.iter().filter(|p| !p.1).collect();
        let large: Vec<&(f32, bool, Vec<Run>)> = per_lr.iter().filter(|p| p.1).collect();
        let c1 = small
            .iter()
            .all(|p| mean(&p.2, |r| r.weak_acc) <= 0.65 && mean(&p.2, |r| r.train_acc) >= 0.98);
        let c2 = large.iter().all(|p| {
            mean(&p.2, |r| r.weak_acc) >= 0.90
                && mean(&p.2, |r| r.train_acc) >= 0.99
                && p.2.iter().all(|r| !r.diverged)
        });
        let min_large = large
            .iter()
            .map(|p| mean(&p.2, |r| r.weak_acc))
            .fold(f64::INFINITY, f64::min);
        let max_small = small
            .iter()
            .map(|p| mean(&p.2, |r| r.weak_acc))
            .fold(0.0, f64::max);
        let c3 = min_large - max_small >= 0.30;
        let all = |ps: &[&(f32, bool, Vec<Run>)], f: fn(&Run) -> f64| -> Vec<f64> {
            ps.iter().flat_map(|p| p.2.iter().map(f)).collect()
        };
        let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let (wl, ws) = (
            avg(&all(&large, |r| r.align_weak)),
            avg(&all(&small, |r| r.align_weak)),
        );
        let over_large_min = all(&large, |r| r.overshoot)
            .into_iter()
            .fold(f64::INFINITY, f64::min);
        let over_small_max = all(&small, |r| r.overshoot).into_iter().fold(0.0, f64::max);
        let c4 = wl >= 5.0 * ws && over_large_min > over_small_max;
        let mut out = Outcome::new(
            &cfg,
            "means over seeds: (1) small lr: weak-only acc <= 0.65 and train acc >= 0.98; (2) large lr: \
             weak-only acc >= 0.90, train acc >= 0.99, no divergence; (3) min large - max small weak-only \
             acc >= 0.30; (4) mean max<w,e1> large >= 5x small, and every large-lr overshoot fraction \
             (first 20% of steps) > every small-lr one",
        )?;
        out.pass = c1 && c2 && c3 && c4;
        out.measure("eta_crit", eta_crit)
            .measure("weak_acc_small_max", max_small)
            .measure("weak_acc_large_min", min_large)
            .measure("gap", min_large - max_small)
            .measure("align_weak_large", wl)
            .measure("align_weak_small", ws)
            .measure("overshoot_large_min", over_large_min)
            .measure("overshoot_small_max", over_small_max)
            .measure("criteria", [c1, c2, c3, c4]);
        for p in &per_lr {
            out.measure(&format!("weak_acc_lr_{}", p.0), mean(&p.2, |r| r.weak_acc));
        }
        if cfg.no_clip_sweep {
            for lr in [0.01f32, 0.2, 0.32, 0.37, 0.4] {
                let r = train(&cfg, &datasets[0], lr, None, &mut ctx.rng(100))?;
                table.row(&[
                    format!("{lr} (no clip)"),
                    "0".into(),
                    if r.diverged {
                        "diverged".into()
                    } else {
                        num(r.train_loss)
                    },
                    num(r.train_acc),
                    num(r.test_acc),
                    num(r.weak_acc),
                    num(r.align_weak),
                    num(r.align_strong),
                    num(r.overshoot),
                ]);
            }
        }
        out.table = table;
        out.plots.push(plot);
        let pts: Vec<(f64, f64)> = per_lr
            .iter()
            .map(|p| (p.0 as f64, mean(&p.2, |r| r.weak_acc)))
            .collect();
        let std_pts: Vec<(f64, f64)> = per_lr
            .iter()
            .map(|p| (p.0 as f64, mean(&p.2, |r| r.test_acc)))
            .collect();
        out.plots.push(
            Plot::new(
                "accuracy_vs_lr.svg",
                "Test accuracy vs learning rate (mean over seeds)",
                "learning rate",
                "accuracy",
            )
            .log(true, false)
            .with(Series::line("weak-only test", pts))
            .with(Series::line("standard test", std_pts)),
        );
        Ok(out)
    }
}
