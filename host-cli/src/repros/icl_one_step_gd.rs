//! Repro `icl-one-step-gd` (spec 01, Mahankali et al. 2023, arXiv 2307.03576): a one-layer linear
//! self-attention trained on noisy linear-regression prompts implements one step of GD with the
//! closed-form optimal step (isotropic x), one step of GD preconditioned by `eta* Sigma^{-1}`
//! (x ~ N(0, Sigma), w ~ N(0, Sigma^{-1})), and still plain one-step GD with a moved step for a
//! nonlinear (tanh) response.
//!
//! Exp A trains masked and unmasked LSAs for each noise level on one random stream per mask (the
//! same x, w, eps draws and init for every sigma: common random numbers, so the monotonicity check
//! of `eta_hat` in sigma compares trainings that differ only by the noise level).

use anyhow::{bail, Result};
use noisekit::icl::gd::{optimal_eta, optimal_gamma, optimal_risk};
use noisekit::icl::lsa::{effective_gamma, lsa_implicit_weight};
use noisekit::icl::metrics::{frob_cos, mse, rel_frob, spd};
use noisekit::icl::predictor::Predictor;
use noisekit::icl::task::{Response, TaskBatch, TaskSpec, WCov, XCov};
use noisekit::icl::train::{train_lsa, train_lsa_on, LsaParams, LsaTrainConfig};
use noisekit::CpuBackend;
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `icl-one-step-gd` reproduction.
pub struct IclOneStepGd;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Input dimension.
    d: usize,
    /// Context length.
    n: usize,
    /// Noise levels of Exp A.
    sigmas: Vec<f64>,
    /// Noise level of Exp B.
    sigma_b: f64,
    /// Diagonal of Sigma in Exp B.
    sigma_diag: Vec<f64>,
    /// Adam steps per training.
    steps: usize,
    /// Fresh tasks per step.
    batch: usize,
    /// Peak learning rate (cosine decay to 0).
    lr: f64,
    /// Init standard deviation.
    init_std: f64,
    /// Held-out evaluation tasks.
    eval_tasks: usize,
    /// Monte Carlo tasks for the nonlinear optimal step eta_f.
    mc_tasks: usize,
    /// Train the masked models with the gradient gemms on the CPU `Backend` in f32 (default: the
    /// f64 reference path).
    backend_f32: bool,
}

struct Row {
    label: String,
    target_eta: f64,
    eta_hat: f64,
    relf: f64,
    cos_target: f64,
    cos_id: f64,
    rel_spd: f64,
    mse_lsa: f64,
    mse_ref: f64,
    risk: f64,
    even: f64,
    sens_cos: f64,
    pass: bool,
    gamma: Vec<f64>,
}

/// Trains on `spec`, evaluates against one preconditioned GD step with `target`. Returns the
/// parameters and `[eta_hat, relF, cos(target), cos(I), rel_spd, MSE LSA, MSE ref, even_energy, sens_cos]`,
/// where `even_energy = mean (y_hat - x_q^T Gamma_eff h)^2`, and the mean sensitivity cosine.
fn run_one(
    ctx: &Ctx,
    cfg: &Config,
    spec: &TaskSpec<'_>,
    masked: bool,
    stream: u64,
    target: &[f64],
) -> Result<(LsaParams, [f64; 9])> {
    let d = spec.d;
    let tc = LsaTrainConfig {
        steps: cfg.steps,
        batch: cfg.batch,
        lr: cfg.lr,
        init_std: cfg.init_std,
        masked,
        ..LsaTrainConfig::default()
    };
    let pb = ctx.progress(cfg.steps as u64, "training LSA");
    let tick = |_: usize, _: f64| pb.inc(1);
    // The masked model can train with its gradient gemms on the CPU backend in f32.
    let p = if cfg.backend_f32 && masked {
        train_lsa_on(&CpuBackend, &mut ctx.rng(stream), spec, &tc, tick)?
    } else {
        train_lsa(&mut ctx.rng(stream), spec, &tc, tick)?
    };
    pb.finish_and_clear();
    let mut g = vec![0.0; d * d];
    effective_gamma(&p.v, &p.bq, d, &mut g)?;
    // Evaluation on held-out tasks (stream 123, the spec's fixed evaluation seed offset).
    let eval = TaskBatch::sample(&mut ctx.rng(123), spec, cfg.eval_tasks)?;
    let mut y_lsa = vec![0.0; eval.b];
    p.predict_batch(&eval, &mut y_lsa)?;
    let mut y_ref = vec![0.0; eval.b];
    Predictor::Preconditioned {
        gamma: target.to_vec(),
    }
    .predict_batch(&eval, &mut y_ref)?;
    let mut y_odd = vec![0.0; eval.b];
    Predictor::Preconditioned { gamma: g.clone() }.predict_batch(&eval, &mut y_odd)?;
    let s = spd(&y_lsa, &y_ref)?.mean;
    let ref_sq = y_ref.iter().map(|v| v * v).sum::<f64>() / eval.b as f64;
    let even = spd(&y_lsa, &y_odd)?.mean;
    // von Oswald-style sensitivity cosine (masked model: d y_hat / d x_q = (v^T G Bq)^T exactly;
    // reference: Gamma h). NaN for the unmasked model, whose sensitivity also depends on x_q.
    let sens_cos = if masked {
        let (mut gv, mut ws, mut wr) = (vec![0.0; d + 1], vec![0.0; d], vec![0.0; d]);
        let ref_p = Predictor::Preconditioned {
            gamma: target.to_vec(),
        };
        let mut acc = 0.0;
        for i in 0..eval.b {
            let (x, y, _, _, _) = eval.task(i).ok_or_else(|| anyhow::anyhow!("task {i}"))?;
            lsa_implicit_weight(&p.v, &p.bq, x, y, spec.n, d, &mut gv, &mut ws)?;
            ref_p.weights(x, y, spec.n, d, &mut wr)?;
            acc += frob_cos(&ws, &wr)?;
        }
        acc / eval.b as f64
    } else {
        f64::NAN
    };
    let mut id = vec![0.0; d * d];
    (0..d).for_each(|i| id[i * d + i] = 1.0);
    let out = [
        (0..d).map(|i| g[i * d + i]).sum::<f64>() / d as f64,
        rel_frob(&g, target)?,
        frob_cos(&g, target)?,
        frob_cos(&g, &id)?,
        s / ref_sq,
        mse(&y_lsa, &eval.yq)?.mean,
        mse(&y_ref, &eval.yq)?.mean,
        even,
        sens_cos,
    ];
    Ok((p, out))
}

impl Repro for IclOneStepGd {
    fn name(&self) -> &'static str {
        "icl-one-step-gd"
    }
    fn spec(&self) -> &'static str {
        "01"
    }
    fn title(&self) -> &'static str {
        "One layer of linear self-attention trained on linear regression implements one step of (preconditioned) GD"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            d: 5,
            n: 20,
            sigmas: vec![0.0, 0.5, 1.0],
            sigma_b: 0.5,
            sigma_diag: vec![4.0, 2.0, 1.0, 0.5, 0.25],
            steps: if ctx.quick { 1500 } else { 4000 },
            batch: if ctx.quick { 256 } else { 512 },
            lr: 1e-2,
            init_std: 0.1,
            eval_tasks: 20_000,
            mc_tasks: if ctx.quick { 200_000 } else { 1_000_000 },
            backend_f32: false,
        })?;
        let (d, n) = (cfg.d, cfg.n);
        if cfg.sigma_diag.len() != d
            || cfg.sigmas.len() < 2
            || cfg.eval_tasks < 100
            || cfg.mc_tasks < 1000
        {
            bail!("config: sigma_diag needs d entries, sigmas >= 2 levels, eval_tasks >= 100, mc_tasks >= 1000");
        }
        let mut id = vec![0.0; d * d];
        (0..d).for_each(|i| id[i * d + i] = 1.0);
        let mut rows: Vec<Row> = Vec::new();
        // Exp A.
        let mut eta_by_mask: Vec<(bool, Vec<(f64, f64)>)> = Vec::new();
        for masked in [true, false] {
            let mut curve = Vec::new();
            for &sigma in &cfg.sigmas {
                let spec = TaskSpec::isotropic(d, n, sigma);
                let eta = optimal_eta(n, d, sigma * sigma)?;
                let target: Vec<f64> = id.iter().map(|v| v * eta).collect();
                let (p, m) = run_one(ctx, &cfg, &spec, masked, 1 + u64::from(masked), &target)?;
                let even = m[7];
                let risk = optimal_risk(n, d, sigma * sigma)?;
                let pass = m[3] > 0.999
                    && (m[0] - eta).abs() / eta < 0.02
                    && m[1] < 0.03
                    && m[4] < 1e-3
                    && (m[5] - m[6]).abs() < 0.01 * m[6];
                curve.push((sigma, m[0]));
                let mut gamma = vec![0.0; d * d];
                effective_gamma(&p.v, &p.bq, d, &mut gamma)?;
                rows.push(Row {
                    label: format!(
                        "A {} sigma={sigma}",
                        if masked { "masked" } else { "unmasked" }
                    ),
                    target_eta: eta,
                    eta_hat: m[0],
                    relf: m[1],
                    cos_target: m[2],
                    cos_id: m[3],
                    rel_spd: m[4],
                    mse_lsa: m[5],
                    mse_ref: m[6],
                    risk,
                    even,
                    sens_cos: m[8],
                    pass,
                    gamma,
                });
            }
            eta_by_mask.push((masked, curve));
        }
        let monotone = eta_by_mask
            .iter()
            .all(|(_, c)| c.windows(2).all(|w| w[1].1 < w[0].1));
        // Exp B: x ~ N(0, diag), w ~ N(0, Sigma^{-1}).
        let sx: Vec<f64> = (0..d * d)
            .map(|k| {
                if k % (d + 1) == 0 {
                    cfg.sigma_diag[k / (d + 1)]
                } else {
                    0.0
                }
            })
            .collect();
        let mut lx = sx.clone();
        noisekit::icl::chol::cholesky_in_place(&mut lx, d, "sigma_diag")?;
        let sw: Vec<f64> = (0..d * d)
            .map(|k| {
                if k % (d + 1) == 0 {
                    1.0 / cfg.sigma_diag[k / (d + 1)]
                } else {
                    0.0
                }
            })
            .collect();
        let mut target_b = vec![0.0; d * d];
        optimal_gamma(
            &sx,
            &sw,
            d,
            n,
            cfg.sigma_b * cfg.sigma_b,
            &mut target_b,
            &mut vec![0.0; 2 * d * d],
        )?;
        let spec_b = TaskSpec {
            x_cov: XCov::Chol(&lx),
            w_cov: WCov::InverseOfX,
            ..TaskSpec::isotropic(d, n, cfg.sigma_b)
        };
        let (pb_, m) = run_one(ctx, &cfg, &spec_b, true, 10, &target_b)?;
        let even = m[7];
        let mut gamma_b = vec![0.0; d * d];
        effective_gamma(&pb_.v, &pb_.bq, d, &mut gamma_b)?;
        let pass_b = m[2] > 0.999 && m[1] < 0.03 && m[3] < 0.9;
        rows.push(Row {
            label: format!("B Sigma=diag{:?} sigma={}", cfg.sigma_diag, cfg.sigma_b),
            target_eta: optimal_eta(n, d, cfg.sigma_b * cfg.sigma_b)?,
            eta_hat: m[0],
            relf: m[1],
            cos_target: m[2],
            cos_id: m[3],
            rel_spd: m[4],
            mse_lsa: m[5],
            mse_ref: m[6],
            risk: f64::NAN,
            even,
            sens_cos: m[8],
            pass: pass_b,
            gamma: gamma_b,
        });
        // Exp C: y = sqrt(d) tanh(w·x), w ~ N(0, I/d), sigma = 0; eta_f = E[p y_q] / E[p^2].
        let spec_c = TaskSpec {
            response: Response::Tanh,
            w_scale: 1.0 / (d as f64).sqrt(),
            ..TaskSpec::isotropic(d, n, 0.0)
        };
        let eta_f = {
            let mut rng = ctx.rng(20);
            let (mut num_, mut den) = (0.0, 0.0);
            let chunk = 10_000;
            let mut left = cfg.mc_tasks;
            let mut p = vec![0.0; chunk];
            while left > 0 {
                let b = left.min(chunk);
                let t = TaskBatch::sample(&mut rng, &spec_c, b)?;
                Predictor::Gd1 { eta: 1.0 }.predict_batch(&t, &mut p[..b])?;
                num_ += p[..b].iter().zip(&t.yq).map(|(a, y)| a * y).sum::<f64>();
                den += p[..b].iter().map(|a| a * a).sum::<f64>();
                left -= b;
            }
            num_ / den
        };
        let target_c: Vec<f64> = id.iter().map(|v| v * eta_f).collect();
        let (pc, m) = run_one(ctx, &cfg, &spec_c, true, 30, &target_c)?;
        let even = m[7];
        let mut gamma_c = vec![0.0; d * d];
        effective_gamma(&pc.v, &pc.bq, d, &mut gamma_c)?;
        let pass_c = m[3] > 0.999 && (m[0] - eta_f).abs() / eta_f < 0.02;
        rows.push(Row {
            label: "C tanh response".into(),
            target_eta: eta_f,
            eta_hat: m[0],
            relf: m[1],
            cos_target: m[2],
            cos_id: m[3],
            rel_spd: m[4],
            mse_lsa: m[5],
            mse_ref: m[6],
            risk: f64::NAN,
            even,
            sens_cos: m[8],
            pass: pass_c,
            gamma: gamma_c,
        });

        let pass = rows.iter().all(|r| r.pass) && monotone;
        let mut table = Table::new(&[
            "config",
            "target eta",
            "eta_hat",
            "gamma_relF",
            "cos(target)",
            "cos(I)",
            "rel_spd",
            "MSE LSA",
            "MSE GD*",
            "R*",
            "even_energy",
            "sens_cos",
            "pass",
        ]);
        for r in &rows {
            table.row(&[
                r.label.clone(),
                num(r.target_eta),
                num(r.eta_hat),
                num(r.relf),
                format!("{:.6}", r.cos_target),
                format!("{:.6}", r.cos_id),
                num(r.rel_spd),
                num(r.mse_lsa),
                num(r.mse_ref),
                num(r.risk),
                num(r.even),
                if r.sens_cos.is_nan() {
                    "-".to_string()
                } else {
                    format!("{:.6}", r.sens_cos)
                },
                (if r.pass { "PASS" } else { "FAIL" }).to_string(),
            ]);
        }
        let mut out = Outcome::new(
            &cfg,
            "Exp A (each sigma, masked and unmasked): cos(Gamma_eff, I) > 0.999, |eta_hat - eta*|/eta* < 0.02, \
             gamma_relF < 0.03, rel_spd < 1e-3, |MSE(LSA) - MSE(GD*)| < 0.01 MSE(GD*), eta_hat strictly decreasing in sigma; \
             Exp B: cos(Gamma_eff, eta* Sigma^-1) > 0.999, gamma_relF < 0.03, cos(Gamma_eff, I) < 0.9; \
             Exp C: cos(Gamma_eff, I) > 0.999, |eta_hat - eta_f|/eta_f < 0.02",
        )?;
        out.pass = pass;
        let worst_a_eta = rows
            .iter()
            .filter(|r| r.label.starts_with('A'))
            .map(|r| (r.eta_hat - r.target_eta).abs() / r.target_eta)
            .fold(0.0, f64::max);
        let worst_relf = rows.iter().map(|r| r.relf).fold(0.0, f64::max);
        out.measure("exp_a_max_rel_eta_error", worst_a_eta)
            .measure("exp_a_eta_hat_monotone", monotone)
            .measure("max_gamma_relF", worst_relf)
            .measure("exp_b_cos_target", rows[rows.len() - 2].cos_target)
            .measure("exp_b_cos_identity", rows[rows.len() - 2].cos_id)
            .measure("exp_c_eta_f", eta_f)
            .measure("exp_c_eta_hat", rows[rows.len() - 1].eta_hat);
        for r in &rows {
            out.measure(&format!("{} pass", r.label), r.pass);
        }
        out.table = table;
        let mut gtab = Table::new(&["config", "row", "Gamma_eff row"]);
        for r in &rows {
            for (i, row) in r.gamma.chunks_exact(d).enumerate() {
                gtab.row(&[r.label.clone(), i.to_string(), format!("{row:.4?}")]);
            }
        }
        out.csv.push(("gamma_eff.csv".into(), gtab));
        // Plot 1: eta_hat against sigma, with eta*(sigma).
        let grid: Vec<(f64, f64)> = (0..=40)
            .map(|i| {
                let s = cfg.sigmas.iter().cloned().fold(0.0, f64::max) * i as f64 / 40.0;
                (s, n as f64 / (n as f64 + d as f64 + 1.0 + s * s))
            })
            .collect();
        let mut plot = Plot::new(
            "eta_vs_sigma.svg",
            "Learned step tr(Gamma_eff)/d vs eta* = n/(n+d+1+sigma^2)",
            "sigma",
            "step size",
        )
        .with(Series::line("eta*", grid));
        for (masked, c) in eta_by_mask {
            plot = plot.with(Series::points(
                if masked { "LSA masked" } else { "LSA unmasked" },
                c,
            ));
        }
        out.plots.push(plot);
        // Plot 2: Exp B diagonal of Gamma_eff against eta* Sigma^{-1}.
        let b = &rows[rows.len() - 2];
        let diag = |g: &[f64]| -> Vec<(f64, f64)> {
            (0..d).map(|i| (cfg.sigma_diag[i], g[i * d + i])).collect()
        };
        out.plots.push(
            Plot::new(
                "precond_diag.svg",
                "Exp B: diag(Gamma_eff) vs eta* Sigma^-1",
                "Sigma_ii",
                "Gamma_ii",
            )
            .log(true, true)
            .with(Series::line("eta* / Sigma_ii", diag(&target_b)))
            .with(Series::points("trained LSA", diag(&b.gamma))),
        );
        out.notes.push(format!(
            "Exp C: Monte Carlo optimal step eta_f = {eta_f:.5} over {} tasks (linear response: {:.5}).",
            cfg.mc_tasks,
            optimal_eta(n, d, 0.0)?
        ));
        Ok(out)
    }
}
