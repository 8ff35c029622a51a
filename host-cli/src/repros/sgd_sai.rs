//! Repro `sgd-sai` (spec 13): SGD-SaI (Xu et al. 2024, arXiv:2412.11768) vs SGDM vs AdamW on a
//! teacher-MLP classification task: loss curves, test accuracy, optimizer-state memory and the
//! per-block g-SNR (~ sqrt(numel - 1), frozen at step 1).
//!
//! Data: x in R^32, x_j ~ N(0, s_j^2) (Part 1: s_j = 1; Part 2 `hetero`: s_j = 10^(-1 + 2j/31)),
//! y = argmax(W2^T tanh(W1^T x/s)) with W1 ~ N(0, 1/32) (32x64), W2 ~ N(0, 1/64) (64x10).
//! Student 32-128-128-10 tanh, torch-default init, softmax-CE, batch 64 with replacement.
//! SGDM = SGD-SaI with every scale 1 (same EMA momentum, decoupled decay), as the spec defines it.

use anyhow::Result;
use noisekit::models::{accuracy, softmax_cross_entropy, Activation, Init, Mlp, MlpCache};
use noisekit::rng::seq;
use noisekit::update::{
    gsnr_block, split_tensors_mut, GroupConfig, GsnrPolicy, Optimizer, OptimizerConfig, Rule,
};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `sgd-sai` reproduction.
pub struct SgdSai;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    steps: usize,
    seeds: u64,
    batch: usize,
    n_train: usize,
    n_test: usize,
    lr_sai: Vec<f32>,
    lr_sgdm: Vec<f32>,
    lr_adamw: Vec<f32>,
    weight_decay: f32,
    /// Also run Part 2 (heterogeneous input scales; printed, not gated).
    hetero: bool,
}

const D: usize = 32;
const H: usize = 64;
const C: usize = 10;

struct Data {
    x: Vec<f32>,
    y: Vec<usize>,
}

fn make_data(
    rng: &mut noisekit::rng::DefaultRng,
    n_train: usize,
    n_test: usize,
    hetero: bool,
) -> Result<(Data, Data)> {
    let mut w1 = vec![0f32; D * H];
    let mut w2 = vec![0f32; H * C];
    seq::fill_gaussian_f32(rng, (1.0 / D as f32).sqrt(), &mut w1)?;
    seq::fill_gaussian_f32(rng, (1.0 / H as f32).sqrt(), &mut w2)?;
    let scale: Vec<f32> = (0..D)
        .map(|j| {
            if hetero {
                10f32.powf(-1.0 + 2.0 * j as f32 / 31.0)
            } else {
                1.0
            }
        })
        .collect();
    let mut gen = |n: usize| -> Result<Data> {
        let mut x = vec![0f32; n * D];
        seq::fill_gaussian_f32(rng, 1.0, &mut x)?;
        let mut y = Vec::with_capacity(n);
        for row in x.chunks_exact_mut(D) {
            // Teacher sees the standardised input; the student sees x = s * x~.
            let mut h = [0f32; H];
            for (k, hk) in h.iter_mut().enumerate() {
                *hk = row
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| v * w1[j * H + k])
                    .sum::<f32>()
                    .tanh();
            }
            let mut best = (0, f32::NEG_INFINITY);
            for c in 0..C {
                let o: f32 = h.iter().enumerate().map(|(k, &v)| v * w2[k * C + c]).sum();
                if o > best.1 {
                    best = (c, o);
                }
            }
            y.push(best.0);
            for (v, s) in row.iter_mut().zip(&scale) {
                *v *= s;
            }
        }
        Ok(Data { x, y })
    };
    let train = gen(n_train)?;
    let test = gen(n_test)?;
    Ok((train, test))
}

#[derive(Clone, Copy, PartialEq)]
enum Opt {
    Sai,
    Sgdm,
    AdamW,
}

impl Opt {
    fn name(self) -> &'static str {
        match self {
            Opt::Sai => "SGD-SaI",
            Opt::Sgdm => "SGDM",
            Opt::AdamW => "AdamW",
        }
    }
}

struct RunResult {
    loss: f64,
    acc: f64,
    curve: Vec<(f64, f64)>,
    state_bytes: usize,
    gsnr_first: Vec<f64>,
    gsnr_last: Vec<f64>,
}

fn tensor_sizes(m: &Mlp) -> Vec<usize> {
    m.layers
        .iter()
        .flat_map(|l| [l.fan_in * l.fan_out, l.fan_out])
        .collect()
}

fn train(
    cfg: &Config,
    data: &(Data, Data),
    opt: Opt,
    lr: f32,
    seed_rng: &mut noisekit::rng::DefaultRng,
) -> Result<RunResult> {
    let (train, test) = data;
    let mut mlp = Mlp::new(
        &[D, 128, 128, C],
        Activation::Tanh,
        Init::TorchDefault,
        seed_rng,
    )?;
    let sizes = tensor_sizes(&mlp);
    let rule = match opt {
        Opt::Sai => Rule::SGD_SAI,
        Opt::Sgdm => Rule::SGDM_EMA,
        Opt::AdamW => Rule::ADAMW,
    };
    let gc = GroupConfig {
        lr,
        weight_decay: cfg.weight_decay,
        rule,
    };
    let mut o = Optimizer::single(&sizes, gc, OptimizerConfig::default())?;
    let n = train.y.len();
    let b = cfg.batch;
    let mut xb = vec![0f32; b * D];
    let mut yb = vec![0usize; b];
    let mut cache = MlpCache::default();
    let mut grads = vec![0f32; mlp.num_params()];
    let mut dlog = vec![0f32; b * C];
    let mut losses = Vec::with_capacity(cfg.steps);
    let mut curve = Vec::new();
    for step in 0..cfg.steps {
        for (k, yk) in yb.iter_mut().enumerate() {
            let i = seq::below(seed_rng, n)?;
            xb[k * D..(k + 1) * D].copy_from_slice(&train.x[i * D..(i + 1) * D]);
            *yk = train.y[i];
        }
        let out = mlp.forward(&xb, b, &mut cache)?;
        let loss = softmax_cross_entropy(out, &yb, C, &mut dlog)?;
        mlp.backward(&mut cache, &dlog, &mut grads)?;
        losses.push(loss as f64);
        let mut ps = split_tensors_mut(&mut mlp.params, &sizes)?;
        let mut gs = split_tensors_mut(&mut grads, &sizes)?;
        o.step(&mut ps, &mut gs)?;
        if (step + 1) % 50 == 0 {
            let w = &losses[step + 1 - 50..=step];
            curve.push(((step + 1) as f64, w.iter().sum::<f64>() / 50.0));
        }
    }
    let tail = losses.len().saturating_sub(100);
    let loss = losses[tail..].iter().sum::<f64>() / (losses.len() - tail).max(1) as f64;
    let out = mlp.forward(&test.x, test.y.len(), &mut cache)?;
    let acc = accuracy(out, &test.y, C)?;
    // g-SNR recomputed at the end (diagnostic) on one more mini-batch.
    let mut gsnr_last = Vec::new();
    {
        let out = mlp.forward(&xb, b, &mut cache)?;
        softmax_cross_entropy(out, &yb, C, &mut dlog)?;
        mlp.backward(&mut cache, &dlog, &mut grads)?;
        let mut off = 0;
        for &s in &sizes {
            gsnr_last.push(
                gsnr_block(&grads[off..off + s], 1e-8, GsnrPolicy::Reference)?.unwrap_or(0.0),
            );
            off += s;
        }
    }
    let gsnr_first = o
        .gsnr()
        .iter()
        .map(|g| g.map_or(f64::NAN, |v| v as f64))
        .collect();
    Ok(RunResult {
        loss,
        acc,
        curve,
        state_bytes: o.state_bytes(),
        gsnr_first,
        gsnr_last,
    })
}

fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    for (k, &i) in idx.iter().enumerate() {
        r[i] = k as f64;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let ma = ra.iter().sum::<f64>() / n;
    let mb = rb.iter().sum::<f64>() / n;
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

struct Cell {
    opt: Opt,
    lr: f32,
    loss: f64,
    acc: f64,
    acc_sd: f64,
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = if x.len() > 1 {
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

impl Repro for SgdSai {
    fn name(&self) -> &'static str {
        "sgd-sai"
    }
    fn spec(&self) -> &'static str {
        "13"
    }
    fn title(&self) -> &'static str {
        "SGD-SaI matches AdamW with half the optimizer-state memory"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            steps: if ctx.quick { 2000 } else { 3000 },
            seeds: 3,
            batch: 64,
            n_train: 4096,
            n_test: 2048,
            lr_sai: if ctx.quick {
                vec![3e-3]
            } else {
                vec![1e-3, 3e-3]
            },
            lr_sgdm: if ctx.quick {
                vec![3e-3, 1e-1]
            } else {
                vec![1e-3, 3e-3, 3e-2, 1e-1]
            },
            lr_adamw: if ctx.quick {
                vec![3e-3]
            } else {
                vec![1e-3, 3e-3]
            },
            weight_decay: 1e-2,
            hetero: !ctx.quick,
        })?;
        if cfg.steps < 100
            || cfg.seeds == 0
            || cfg.batch == 0
            || cfg.n_train == 0
            || cfg.n_test == 0
        {
            anyhow::bail!("config: steps >= 100, seeds, batch, n_train, n_test >= 1");
        }
        if !cfg.lr_sai.contains(&3e-3) || !cfg.lr_sgdm.contains(&3e-3) {
            anyhow::bail!("config: lr_sai and lr_sgdm must contain 3e-3 (the shared-lr criterion)");
        }
        let data = make_data(&mut ctx.rng(0), cfg.n_train, cfg.n_test, false)?;
        let grid: Vec<(Opt, f32)> = cfg
            .lr_sai
            .iter()
            .map(|&l| (Opt::Sai, l))
            .chain(cfg.lr_sgdm.iter().map(|&l| (Opt::Sgdm, l)))
            .chain(cfg.lr_adamw.iter().map(|&l| (Opt::AdamW, l)))
            .collect();
        let pb = ctx.progress(grid.len() as u64 * cfg.seeds, "runs");
        let mut cells = Vec::new();
        let mut plot = Plot::new(
            "loss_curves.svg",
            "Train loss (seed 0, mean of 50 mini-batches)",
            "step",
            "loss",
        )
        .log(false, true);
        let mut bytes = (0usize, 0usize, 0usize);
        let mut gsnr_first = Vec::new();
        let mut gsnr_last = Vec::new();
        for &(opt, lr) in &grid {
            let (mut losses, mut accs) = (Vec::new(), Vec::new());
            for s in 0..cfg.seeds {
                let r = train(&cfg, &data, opt, lr, &mut ctx.rng(100 + s))?;
                if s == 0 {
                    plot = plot.with(Series::line(
                        format!("{} lr={lr}", opt.name()),
                        r.curve.clone(),
                    ));
                    if opt == Opt::Sai && lr == 3e-3 {
                        gsnr_first = r.gsnr_first.clone();
                        gsnr_last = r.gsnr_last.clone();
                    }
                }
                match opt {
                    Opt::Sai => bytes.0 = r.state_bytes,
                    Opt::Sgdm => bytes.1 = r.state_bytes,
                    Opt::AdamW => bytes.2 = r.state_bytes,
                }
                losses.push(r.loss);
                accs.push(r.acc);
                pb.inc(1);
            }
            let (acc, acc_sd) = mean_sd(&accs);
            cells.push(Cell {
                opt,
                lr,
                loss: mean_sd(&losses).0,
                acc,
                acc_sd,
            });
        }
        pb.finish_and_clear();
        let best = |o: Opt| {
            cells
                .iter()
                .filter(|c| c.opt == o)
                .max_by(|a, b| a.acc.total_cmp(&b.acc))
                .map(|c| (c.acc, c.lr))
        };
        let at = |o: Opt, lr: f32| cells.iter().find(|c| c.opt == o && c.lr == lr);
        let min_loss = |o: Opt| {
            cells
                .iter()
                .filter(|c| c.opt == o)
                .map(|c| c.loss)
                .fold(f64::INFINITY, f64::min)
        };
        let (acc_sai, _) = best(Opt::Sai).unwrap_or((0.0, 0.0));
        let (acc_adam, _) = best(Opt::AdamW).unwrap_or((0.0, 0.0));
        let (sai3, sgdm3) = (at(Opt::Sai, 3e-3), at(Opt::Sgdm, 3e-3));
        let (l_sai3, a_sai3) = sai3.map_or((f64::NAN, 0.0), |c| (c.loss, c.acc));
        let (l_sgdm3, a_sgdm3) = sgdm3.map_or((f64::NAN, 0.0), |c| (c.loss, c.acc));
        let c1 = acc_sai >= acc_adam - 0.03;
        let c2 = l_sai3 <= 0.1 * l_sgdm3 && a_sai3 >= a_sgdm3 + 0.05;
        let c3 = min_loss(Opt::Sai) < 0.5 * min_loss(Opt::Sgdm);
        let (n_params, n_tensors) = (22_026usize, 6usize);
        let c4 = bytes.0 == 4 * n_params + 4 * n_tensors
            && bytes.2 == 8 * n_params + 8
            && (bytes.0 as f64) / (bytes.2 as f64) <= 0.51;
        let sizes = [D * 128, 128, 128 * 128, 128, 128 * C, C];
        let within: f64 = gsnr_first
            .iter()
            .zip(sizes)
            .map(|(&g, n)| (g / ((n - 1) as f64).sqrt() - 1.0).abs())
            .fold(0.0, f64::max);
        let spread = gsnr_first.iter().cloned().fold(0.0, f64::max)
            / gsnr_first.iter().cloned().fold(f64::INFINITY, f64::min);
        let rho = spearman(&gsnr_first, &gsnr_last);
        let c5 = within <= 0.05 && spread >= 10.0 && rho >= 0.9;

        let mut table = Table::new(&[
            "part",
            "optimizer",
            "lr",
            "train loss (last 100)",
            "test acc (mean)",
            "test acc sd",
            "state bytes",
        ]);
        for c in &cells {
            let b = match c.opt {
                Opt::Sai => bytes.0,
                Opt::Sgdm => bytes.1,
                Opt::AdamW => bytes.2,
            };
            table.row(&[
                "1".into(),
                c.opt.name().to_string(),
                format!("{}", c.lr),
                num(c.loss),
                num(c.acc),
                num(c.acc_sd),
                b.to_string(),
            ]);
        }
        let mut hetero = Vec::new();
        if cfg.hetero {
            let data2 = make_data(&mut ctx.rng(1), cfg.n_train, cfg.n_test, true)?;
            for &(opt, lr) in &grid {
                let r = train(&cfg, &data2, opt, lr, &mut ctx.rng(100))?;
                table.row(&[
                    "2 (hetero, seed 0)".into(),
                    opt.name().to_string(),
                    format!("{lr}"),
                    num(r.loss),
                    num(r.acc),
                    "-".into(),
                    r.state_bytes.to_string(),
                ]);
                hetero.push((opt, r.acc));
            }
        }
        let mut gt = Table::new(&[
            "block",
            "numel",
            "gsnr step 1",
            "sqrt(numel-1)",
            "gsnr at end (recomputed)",
        ]);
        for (k, ((&g1, &g2), n)) in gsnr_first.iter().zip(&gsnr_last).zip(sizes).enumerate() {
            let name = ["W1", "b1", "W2", "b2", "W3", "b3"][k];
            gt.row(&[
                name.to_string(),
                n.to_string(),
                num(g1),
                num(((n - 1) as f64).sqrt()),
                num(g2),
            ]);
        }
        table.row(&["", "", "", "", "", "", ""]);
        for r in gt.rows {
            let mut r = r;
            r.push(String::new());
            r.push(String::new());
            table.rows.push(r);
        }
        let mut out = Outcome::new(
            &cfg,
            "Part 1, mean over seeds, best lr per optimizer: (1) acc(SGD-SaI) >= acc(AdamW) - 0.03; \
             (2) at lr 3e-3 loss(SGD-SaI) <= 0.1 loss(SGDM) and acc(SGD-SaI) >= acc(SGDM) + 0.05; \
             (3) min-over-grid loss(SGD-SaI) < 0.5 min loss(SGDM); (4) state bytes SGD-SaI = 4 n + 4 tensors, \
             AdamW = 8 n + 8, ratio <= 0.51; (5) step-1 gsnr within 5% of sqrt(numel-1), max/min >= 10, \
             Spearman(step 1, end) >= 0.9",
        )?;
        out.pass = c1 && c2 && c3 && c4 && c5;
        out.measure("acc_sai_best", acc_sai)
            .measure("acc_adamw_best", acc_adam)
            .measure("loss_sai_lr3e-3", l_sai3)
            .measure("loss_sgdm_lr3e-3", l_sgdm3)
            .measure("acc_sai_lr3e-3", a_sai3)
            .measure("acc_sgdm_lr3e-3", a_sgdm3)
            .measure("min_loss_sai", min_loss(Opt::Sai))
            .measure("min_loss_sgdm", min_loss(Opt::Sgdm))
            .measure("min_loss_adamw", min_loss(Opt::AdamW))
            .measure("state_bytes_sai", bytes.0)
            .measure("state_bytes_adamw", bytes.2)
            .measure("state_ratio", bytes.0 as f64 / bytes.2 as f64)
            .measure("gsnr_step1", &gsnr_first)
            .measure("gsnr_max_rel_dev_from_sqrt_n", within)
            .measure("gsnr_spread", spread)
            .measure("gsnr_spearman", rho)
            .measure("criteria", [c1, c2, c3, c4, c5]);
        if !hetero.is_empty() {
            let best2 = |o: Opt| {
                hetero
                    .iter()
                    .filter(|h| h.0 == o)
                    .map(|h| h.1)
                    .fold(0.0, f64::max)
            };
            out.measure("part2_acc_adamw_best", best2(Opt::AdamW))
                .measure("part2_acc_sai_best", best2(Opt::Sai));
        }
        out.table = table;
        out.plots.push(plot);
        let pts: Vec<(f64, f64)> = sizes
            .iter()
            .zip(&gsnr_first)
            .map(|(&n, &g)| (n as f64, g))
            .collect();
        let line: Vec<(f64, f64)> = [10.0, 20_000.0]
            .iter()
            .map(|&n: &f64| (n, (n - 1.0).sqrt()))
            .collect();
        out.plots.push(
            Plot::new(
                "gsnr.svg",
                "Step-1 g-SNR per block vs sqrt(numel - 1)",
                "numel",
                "gsnr",
            )
            .log(true, true)
            .with(Series::points("g-SNR (step 1)", pts))
            .with(Series::line("sqrt(numel - 1)", line)),
        );
        Ok(out)
    }
}
