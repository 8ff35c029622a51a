//! Repro `icl-algorithms` (spec 12, Akyürek et al. 2022, arXiv 2211.15661): the map of classical
//! in-context learners as the label noise varies, and where a trained one-layer linear
//! self-attention (spec 01) sits on it.
//!
//! Part A (no training): MSE of OLS, Bayes ridge `lambda = sigma^2/tau^2`, Ridge(0.1), Ridge(1),
//! GD1(eta*), GD3(0.5), SGD(0.02) and kNN5 for each noise level, the SPD of each against the Bayes
//! predictor, and a ridge `lambda` scan on common random numbers (the same tasks for every lambda).
//! Part B: a masked LSA trained per (n, sigma) on one random stream per n (common random numbers
//! across sigma), compared by SPD and ILWD with GD1(eta*), GD3(0.5), Ridge(sigma^2), Ridge(0.1), OLS
//! and kNN5. The LSA's implicit weight is its exact sensitivity `(v^T G Bq)^T` (the masked model is
//! linear in the query, so a probe fit returns the same vector); kNN has no implicit weight.

use anyhow::{bail, Result};
use noisekit::icl::gd::optimal_eta;
use noisekit::icl::knn::KnnWeighting;
use noisekit::icl::lsa::lsa_implicit_weight;
use noisekit::icl::metrics::{mean_se, mse, spd, sq_dist};
use noisekit::icl::predictor::Predictor;
use noisekit::icl::ridge::bayes_lambda;
use noisekit::icl::task::{TaskBatch, TaskSpec};
use noisekit::icl::train::{train_lsa, LsaTrainConfig};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `icl-algorithms` reproduction.
pub struct IclAlgorithms;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Part A dimension.
    a_d: usize,
    /// Part A context length.
    a_n: usize,
    /// Part A noise levels.
    a_sigmas: Vec<f64>,
    /// Part A tasks per noise level.
    a_tasks: usize,
    /// Prior scale tau of w.
    tau: f64,
    /// Part B dimension.
    b_d: usize,
    /// Part B context lengths.
    b_ns: Vec<usize>,
    /// Part B noise levels (increasing).
    b_sigmas: Vec<f64>,
    /// Adam steps per LSA training.
    steps: usize,
    /// Fresh tasks per step.
    batch: usize,
    /// Peak learning rate (cosine decay to 0).
    lr: f64,
    /// Part B held-out tasks.
    b_eval_tasks: usize,
}

fn part_a_predictors(n: usize, d: usize, sigma: f64, tau: f64) -> Result<Vec<(String, Predictor)>> {
    let s2 = sigma * sigma;
    Ok(vec![
        ("OLS".into(), Predictor::Ols),
        (
            "Ridge(sigma^2) Bayes".into(),
            Predictor::Ridge {
                lambda: bayes_lambda(s2, tau * tau)?,
            },
        ),
        ("Ridge(0.1)".into(), Predictor::Ridge { lambda: 0.1 }),
        ("Ridge(1)".into(), Predictor::Ridge { lambda: 1.0 }),
        (
            "GD1(eta*)".into(),
            Predictor::Gd1 {
                eta: optimal_eta(n, d, s2)?,
            },
        ),
        ("GD3(0.5)".into(), Predictor::GdSteps { eta: 0.5, k: 3 }),
        (
            "SGD(0.02)".into(),
            Predictor::Sgd {
                alpha: 0.02,
                weight_decay: 0.0,
                clip: 20.0,
            },
        ),
        (
            "kNN5".into(),
            Predictor::Knn {
                k: 5,
                weighting: KnnWeighting::Uniform,
            },
        ),
    ])
}

fn part_b_predictors(n: usize, d: usize, sigma: f64, tau: f64) -> Result<Vec<(String, Predictor)>> {
    let s2 = sigma * sigma;
    Ok(vec![
        (
            "GD1(eta*)".into(),
            Predictor::Gd1 {
                eta: optimal_eta(n, d, s2)?,
            },
        ),
        ("GD3(0.5)".into(), Predictor::GdSteps { eta: 0.5, k: 3 }),
        (
            "Ridge(sigma^2)".into(),
            Predictor::Ridge {
                lambda: bayes_lambda(s2, tau * tau)?,
            },
        ),
        ("Ridge(0.1)".into(), Predictor::Ridge { lambda: 0.1 }),
        ("OLS".into(), Predictor::Ols),
        (
            "kNN5".into(),
            Predictor::Knn {
                k: 5,
                weighting: KnnWeighting::Uniform,
            },
        ),
    ])
}

impl Repro for IclAlgorithms {
    fn name(&self) -> &'static str {
        "icl-algorithms"
    }
    fn spec(&self) -> &'static str {
        "12"
    }
    fn title(&self) -> &'static str {
        "Trained in-context learners match ridge/OLS/GD predictors depending on the noise level"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            a_d: 8,
            a_n: 16,
            a_sigmas: vec![0.0, 0.5, 1.0],
            a_tasks: if ctx.quick { 10_000 } else { 40_000 },
            tau: 1.0,
            b_d: 5,
            b_ns: vec![10, 20],
            b_sigmas: vec![0.0, 0.5, 1.0, 2.0],
            // The spec's 3000 steps at both scales: with 1500 the worst seed's SPD ratio came
            // within 4% of the 0.01 threshold (training noise, not the claim).
            steps: 3000,
            batch: 256,
            lr: 1e-2,
            b_eval_tasks: 20_000,
        })?;
        if cfg.a_tasks < 100
            || cfg.b_eval_tasks < 100
            || cfg.b_sigmas.len() < 2
            || !cfg.a_sigmas.contains(&0.0)
        {
            bail!("config: a_tasks, b_eval_tasks >= 100; b_sigmas >= 2 levels; a_sigmas must contain 0");
        }
        let mut out = Outcome::new(
            &cfg,
            "Part A: (1) for every sigma, MSE(Ridge(sigma^2)) <= MSE(other) + 2 SE (paired) for every other predictor; \
             (2) the ridge lambda minimising MSE on a 13-point log grid 1e-3..1e2 plus sigma^2 is within a factor 2 of sigma^2 \
             for sigma in {0.5, 1} and the smallest scanned value for sigma = 0; (3) SPD(OLS, Bayes) < 1e-10 at sigma = 0; \
             (4) MSE OLS < GD3 < GD1 < kNN at sigma = 0. Part B (trained masked LSA): for every (n, sigma) argmin of SPD(LSA, .) \
             is GD1(eta*) and SPD(LSA, GD1) < 0.01 x the next smallest; SPD(LSA, Ridge(sigma^2)) strictly decreases in sigma for each n",
        )?;
        let tau = cfg.tau;
        // ---------------- Part A ----------------
        let (d, n) = (cfg.a_d, cfg.a_n);
        let mut ta = Table::new(&["sigma", "predictor", "MSE", "SE", "SPD vs Bayes"]);
        let mut pass_a = [true; 4];
        let mut scan_plot = Plot::new(
            "ridge_scan.svg",
            "Part A: ridge MSE vs lambda (common random numbers)",
            "lambda",
            "MSE",
        )
        .log(true, true);
        let mut argmins = Vec::new();
        let pb = ctx.progress(cfg.a_sigmas.len() as u64, "part A");
        for (si, &sigma) in cfg.a_sigmas.iter().enumerate() {
            let spec = TaskSpec {
                w_scale: tau,
                ..TaskSpec::isotropic(d, n, sigma)
            };
            let tasks = TaskBatch::sample(&mut ctx.rng(100 + si as u64), &spec, cfg.a_tasks)?;
            let preds = part_a_predictors(n, d, sigma, tau)?;
            let mut yh: Vec<Vec<f64>> = Vec::new();
            for (_, p) in &preds {
                let mut o = vec![0.0; tasks.b];
                p.predict_batch(&tasks, &mut o)?;
                yh.push(o);
            }
            let bayes = &yh[1];
            let mses: Vec<_> = yh
                .iter()
                .map(|y| mse(y, &tasks.yq))
                .collect::<noisekit::Result<_>>()?;
            for (k, (name, _)) in preds.iter().enumerate() {
                let s = spd(&yh[k], bayes)?.mean;
                ta.row(&[
                    num(sigma),
                    name.clone(),
                    num(mses[k].mean),
                    num(mses[k].se),
                    num(s),
                ]);
                // (1) paired difference of squared errors, Bayes minus other.
                let diff = mean_se(tasks.b, |i| {
                    (bayes[i] - tasks.yq[i]).powi(2) - (yh[k][i] - tasks.yq[i]).powi(2)
                })?;
                if k != 1 && diff.mean > 2.0 * diff.se {
                    pass_a[0] = false;
                }
            }
            if sigma == 0.0 {
                let s = spd(&yh[0], bayes)?.mean;
                out.measure("a_spd_ols_bayes_sigma0", s);
                pass_a[2] = s < 1e-10;
                let m: Vec<f64> = mses.iter().map(|m| m.mean).collect();
                pass_a[3] = m[0] < m[5] && m[5] < m[4] && m[4] < m[7];
            }
            // (2) lambda scan on the same tasks.
            let mut grid: Vec<f64> = (0..13)
                .map(|i| 10f64.powf(-3.0 + 5.0 * i as f64 / 12.0))
                .collect();
            grid.push(sigma * sigma / (tau * tau));
            grid.sort_by(f64::total_cmp);
            let mut curve = Vec::new();
            let mut best = (f64::INFINITY, f64::NAN);
            for &lam in &grid {
                let mut o = vec![0.0; tasks.b];
                Predictor::Ridge { lambda: lam }.predict_batch(&tasks, &mut o)?;
                let m = mse(&o, &tasks.yq)?.mean;
                if lam > 0.0 {
                    curve.push((lam, m.max(1e-12)));
                }
                if m < best.0 {
                    best = (m, lam);
                }
            }
            let target = sigma * sigma / (tau * tau);
            let ok = if sigma == 0.0 {
                best.1 == grid[0]
            } else {
                best.1 >= target / 2.0 && best.1 <= target * 2.0
            };
            pass_a[1] &= ok;
            argmins.push((sigma, best.1));
            out.measure(&format!("a_best_lambda_sigma{sigma}"), best.1);
            scan_plot = scan_plot.with(Series::line(format!("sigma={sigma}"), curve));
            pb.inc(1);
        }
        pb.finish_and_clear();
        out.measure("a_bayes_lowest_mse", pass_a[0])
            .measure("a_lambda_scan_ok", pass_a[1])
            .measure("a_ols_equals_bayes_sigma0", pass_a[2])
            .measure("a_order_ols_gd3_gd1_knn", pass_a[3]);
        // ---------------- Part B ----------------
        let d = cfg.b_d;
        let mut tb = Table::new(&[
            "n",
            "sigma",
            "SPD GD1*",
            "SPD GD3",
            "SPD Ridge(s2)",
            "SPD Ridge(0.1)",
            "SPD OLS",
            "SPD kNN5",
            "ILWD GD1*",
            "ILWD Ridge(s2)",
            "ILWD OLS",
            "MSE LSA",
            "MSE GD1*",
            "MSE Ridge(s2)",
            "MSE OLS",
            "best",
            "pass",
        ]);
        let mut pass_b = true;
        let mut spd_plot = Plot::new(
            "spd_vs_sigma.svg",
            "Part B: SPD(trained LSA, predictor) vs noise",
            "sigma",
            "SPD",
        )
        .log(false, true);
        let total = (cfg.b_ns.len() * cfg.b_sigmas.len()) as u64;
        let pb = ctx.progress(total, "part B trainings");
        for (ni, &n) in cfg.b_ns.iter().enumerate() {
            let mut ridge_spd = Vec::new();
            let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 6];
            for &sigma in &cfg.b_sigmas {
                let spec = TaskSpec {
                    w_scale: tau,
                    ..TaskSpec::isotropic(d, n, sigma)
                };
                let tc = LsaTrainConfig {
                    steps: cfg.steps,
                    batch: cfg.batch,
                    lr: cfg.lr,
                    masked: true,
                    ..LsaTrainConfig::default()
                };
                let lsa = train_lsa(&mut ctx.rng(200 + ni as u64), &spec, &tc, |_, _| {})?;
                let eval =
                    TaskBatch::sample(&mut ctx.rng(300 + ni as u64), &spec, cfg.b_eval_tasks)?;
                let mut y_lsa = vec![0.0; eval.b];
                lsa.predict_batch(&eval, &mut y_lsa)?;
                let mut w_lsa = vec![0.0; eval.b * d];
                let mut gv = vec![0.0; d + 1];
                for (i, w) in w_lsa.chunks_exact_mut(d).enumerate() {
                    let (x, y, _, _, _) =
                        eval.task(i).ok_or_else(|| anyhow::anyhow!("task {i}"))?;
                    lsa_implicit_weight(&lsa.v, &lsa.bq, x, y, n, d, &mut gv, w)?;
                }
                let preds = part_b_predictors(n, d, sigma, tau)?;
                let mut spds = Vec::new();
                let mut ilwds = Vec::new();
                let mut mses = Vec::new();
                for (_, p) in &preds {
                    let mut o = vec![0.0; eval.b];
                    p.predict_batch(&eval, &mut o)?;
                    spds.push(spd(&y_lsa, &o)?.mean);
                    mses.push(mse(&o, &eval.yq)?.mean);
                    if p.is_linear() {
                        let mut w = vec![0.0; eval.b * d];
                        p.weights_batch(&eval, &mut w)?;
                        let il = (0..eval.b)
                            .map(|i| sq_dist(&w_lsa[i * d..(i + 1) * d], &w[i * d..(i + 1) * d]))
                            .sum::<noisekit::Result<f64>>()?
                            / eval.b as f64;
                        ilwds.push(il);
                    } else {
                        ilwds.push(f64::NAN);
                    }
                }
                let best = (0..spds.len())
                    .min_by(|&a, &b| spds[a].total_cmp(&spds[b]))
                    .unwrap_or(0);
                let next = spds.iter().skip(1).cloned().fold(f64::INFINITY, f64::min);
                let ok = best == 0 && spds[0] < 0.01 * next;
                pass_b &= ok;
                ridge_spd.push(spds[2]);
                for (k, s) in spds.iter().enumerate() {
                    series[k].push((sigma, *s));
                }
                tb.row(&[
                    n.to_string(),
                    num(sigma),
                    num(spds[0]),
                    num(spds[1]),
                    num(spds[2]),
                    num(spds[3]),
                    num(spds[4]),
                    num(spds[5]),
                    num(ilwds[0]),
                    num(ilwds[2]),
                    num(ilwds[4]),
                    num(mse(&y_lsa, &eval.yq)?.mean),
                    num(mses[0]),
                    num(mses[2]),
                    num(mses[4]),
                    preds[best].0.clone(),
                    (if ok { "PASS" } else { "FAIL" }).to_string(),
                ]);
                out.measure(&format!("b_n{n}_sigma{sigma}_spd_gd1"), spds[0]);
                out.measure(
                    &format!("b_n{n}_sigma{sigma}_spd_ratio_gd1_next"),
                    spds[0] / next,
                );
                pb.inc(1);
            }
            let dec = ridge_spd.windows(2).all(|w| w[1] < w[0]);
            out.measure(&format!("b_n{n}_spd_ridge_decreasing"), dec);
            pass_b &= dec;
            if ni + 1 == cfg.b_ns.len() {
                let names = [
                    "GD1(eta*)",
                    "GD3(0.5)",
                    "Ridge(sigma^2)",
                    "Ridge(0.1)",
                    "OLS",
                    "kNN5",
                ];
                for (k, s) in series.into_iter().enumerate() {
                    spd_plot = spd_plot.with(Series::line(format!("{} (n={n})", names[k]), s));
                }
            }
        }
        pb.finish_and_clear();
        out.pass = pass_a.iter().all(|&p| p) && pass_b;
        out.measure("part_a_pass", pass_a.iter().all(|&p| p))
            .measure("part_b_pass", pass_b);
        out.table = tb;
        out.csv.push(("part_a.csv".into(), ta));
        out.plots.push(scan_plot);
        out.plots.push(spd_plot);
        out.notes.push(format!(
            "Part A ridge-scan argmins (sigma, lambda): {argmins:?}"
        ));
        out.notes.push("Part A table: part_a.csv (MSE against the noisy query label and SPD against the Bayes ridge).".into());
        Ok(out)
    }
}
