//! Repro `fbm-sde` (spec 08): Markov-approximate fBM (Daems et al., ICLR 2024, arXiv 2310.12975).
//!
//! 1. Covariance error of the optimal MA-fBM against fBM vs K (pure linear algebra).
//! 2. The exact OU-bank sampler reproduces the analytic covariance.
//! 3. Hurst recovery from Davies-Harte fBM paths and from MA-fBM paths (and the "Brownian at small
//!    scales" effect of MA-fBM at lag 1).
//! 4. Fractional OU: maximising the exact evidence (= the ELBO at the optimal control for this
//!    linear model) over a grid of (H, theta) recovers both; a Monte-Carlo ELBO with the prior as
//!    posterior (u = 0, Euler-Maruyama) stays below the evidence.

use anyhow::{bail, Result};
use noisekit::fractional::cov::cov_error;
use noisekit::fractional::cov::ma_cov;
use noisekit::fractional::davies_harte::DaviesHarte;
use noisekit::fractional::fou::FouModel;
use noisekit::fractional::hurst::hurst_variogram;
use noisekit::fractional::mafbm::MafbmSampler;
use noisekit::fractional::sde::{euler_mafbm, MafbmNoise};
use noisekit::fractional::{gamma_grid, omega_optimal, Kind, Normalisation};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `fbm-sde` reproduction.
pub struct FbmSde;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Hurst indices of the covariance-error table.
    cov_hursts: Vec<f64>,
    /// Grid points of the covariance error (t_i = i T / n).
    cov_grid: usize,
    /// Paths of the sampler check.
    sampler_paths: usize,
    /// Steps of the sampler check (on [0, 1]).
    sampler_steps: usize,
    /// Davies-Harte paths per H for the Hurst table.
    dh_paths: usize,
    /// Steps of each Hurst path.
    hurst_n: usize,
    /// MA-fBM (K = 20, gamma_max = 1000) paths per H.
    ma_paths: usize,
    /// Variogram lag for the MA-fBM paths.
    ma_lag: usize,
    /// Independent observed fOU paths.
    fou_paths: usize,
    /// Observations per path.
    fou_obs: usize,
    /// Prior paths of the Monte-Carlo ELBO.
    elbo_paths: usize,
}

/// (label, K, gamma_max); K = 1 uses gamma = [1].
const CONFIGS: [(&str, usize, f64); 7] = [
    ("K=1 (g=1)", 1, 1.0),
    ("K=2 gm20", 2, 20.0),
    ("K=3 gm20", 3, 20.0),
    ("K=5 gm20", 5, 20.0),
    ("K=10 gm20", 10, 20.0),
    ("K=10 gm100", 10, 100.0),
    ("K=20 gm1000", 20, 1000.0),
];

fn grid(k: usize, gm: f64) -> Result<Vec<f64>> {
    if k == 1 {
        return Ok(vec![1.0]);
    }
    let mut g = vec![0.0; k];
    gamma_grid(gm, 0, &mut g)?;
    Ok(g)
}

fn weights(g: &[f64], h: f64, t: f64) -> Result<Vec<f64>> {
    let mut w = vec![0.0; g.len()];
    omega_optimal(g, h, t, Kind::TypeI, Normalisation::Standard, &mut w)?;
    Ok(w)
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, v.sqrt())
}

impl Repro for FbmSde {
    fn name(&self) -> &'static str {
        "fbm-sde"
    }
    fn spec(&self) -> &'static str {
        "08"
    }
    fn title(&self) -> &'static str {
        "Markov-approximate fBM: covariance error vs K, Hurst recovery and an ELBO fit"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            cov_hursts: vec![0.1, 0.3, 0.7, 0.9],
            cov_grid: 50,
            sampler_paths: if ctx.quick { 16_000 } else { 40_000 },
            sampler_steps: 100,
            dh_paths: if ctx.quick { 20 } else { 100 },
            hurst_n: 4096,
            ma_paths: if ctx.quick { 100 } else { 400 },
            ma_lag: 64,
            fou_paths: 16,
            fou_obs: 200,
            elbo_paths: if ctx.quick { 256 } else { 1024 },
        })?;
        if cfg.cov_grid == 0
            || cfg.sampler_paths < 100
            || cfg.sampler_steps == 0
            || cfg.dh_paths < 2
            || cfg.ma_paths < 2
            || cfg.hurst_n <= 2 * cfg.ma_lag + 1
            || cfg.fou_paths == 0
            || cfg.fou_obs == 0
            || cfg.elbo_paths < 2
        {
            bail!("config: sizes must be positive (sampler_paths >= 100, dh/ma/elbo paths >= 2, hurst_n > 2 ma_lag + 1)");
        }
        let mut notes = Vec::new();
        let mut table = Table::new(&["part", "quantity", "measured", "criterion", "ok"]);

        // 1. Covariance error vs K.
        let mut cov_tab = Table::new(
            &std::iter::once("H".to_string())
                .chain(CONFIGS.iter().map(|c| c.0.to_string()))
                .collect::<Vec<_>>(),
        );
        let mut cov_plot = Plot::new(
            "cov_error_vs_k.svg",
            "MA-fBM covariance error vs configuration (type I, T = 1, 50-point grid)",
            "configuration index (K=1, 2, 3, 5, 10 @gm20, 10 @gm100, 20 @gm1000)",
            "relFrob",
        )
        .log(false, true);
        let mut rel = std::collections::BTreeMap::new();
        for &h in &cfg.cov_hursts {
            let mut row = Vec::new();
            for &(_, k, gm) in &CONFIGS {
                let g = grid(k, gm)?;
                let w = weights(&g, h, 1.0)?;
                let e = cov_error(
                    &g,
                    &w,
                    Kind::TypeI,
                    Normalisation::Standard,
                    h,
                    1.0,
                    cfg.cov_grid,
                )?;
                row.push(e.rel_frob);
            }
            cov_plot = cov_plot.with(Series::line(
                format!("H = {h}"),
                row.iter()
                    .enumerate()
                    .map(|(i, &v)| (i as f64, v))
                    .collect(),
            ));
            cov_tab.row_nums(&format!("{h}"), &row);
            rel.insert(format!("{h}"), row);
        }
        let mut part1 = true;
        for (h, lim) in [(0.3, 0.002), (0.7, 0.01)] {
            let g = grid(20, 1000.0)?;
            let w = weights(&g, h, 1.0)?;
            let e = cov_error(
                &g,
                &w,
                Kind::TypeI,
                Normalisation::Standard,
                h,
                1.0,
                cfg.cov_grid,
            )?;
            let ser: Vec<f64> = [1, 2, 3, 5, 6]
                .iter()
                .map(|&i| {
                    let g = grid(CONFIGS[i].1, CONFIGS[i].2)?;
                    let w = weights(&g, h, 1.0)?;
                    Ok(cov_error(
                        &g,
                        &w,
                        Kind::TypeI,
                        Normalisation::Standard,
                        h,
                        1.0,
                        cfg.cov_grid,
                    )?
                    .rel_frob)
                })
                .collect::<Result<_>>()?;
            let mono = ser[0] >= ser[1] && ser[1] >= ser[2] && ser[3] >= ser[4];
            let ok = mono && e.rel_frob < lim;
            part1 &= ok;
            table.row(&[
                "1 cov error".to_string(),
                format!("relFrob H={h} K=20 gm1000 (non-increasing in K: {mono})"),
                num(e.rel_frob),
                format!("< {lim} and non-increasing"),
                ok.to_string(),
            ]);
        }

        // 2. Sampler check: 2nd moments of exact MA-fBM paths vs the analytic covariance.
        let (h2, n2) = (0.3, cfg.sampler_steps);
        let g5 = grid(5, 20.0)?;
        let w5 = weights(&g5, h2, 1.0)?;
        let sampler = MafbmSampler::new(&g5, &w5, Kind::TypeI, 1.0 / n2 as f64)?;
        let mut rng = ctx.rng(2);
        let mut paths = vec![0.0; cfg.sampler_paths * (n2 + 1)];
        sampler.sample_paths(&mut rng, n2, cfg.sampler_paths, &mut paths)?;
        let mut m2 = vec![0.0; n2 * n2];
        for p in paths.chunks_exact(n2 + 1) {
            for i in 0..n2 {
                let pi = p[i + 1];
                for j in 0..=i {
                    m2[i * n2 + j] += pi * p[j + 1];
                }
            }
        }
        let mut max_err: f64 = 0.0;
        for i in 0..n2 {
            for j in 0..=i {
                let (ti, tj) = ((i + 1) as f64 / n2 as f64, (j + 1) as f64 / n2 as f64);
                let c = ma_cov(&g5, &w5, Kind::TypeI, ti, tj)?;
                max_err = max_err.max((m2[i * n2 + j] / cfg.sampler_paths as f64 - c).abs());
            }
        }
        let var1 = m2[n2 * n2 - 1] / cfg.sampler_paths as f64;
        let part2 = max_err < 0.06;
        table.row(&[
            "2 sampler".to_string(),
            format!(
                "max |emp 2nd moment - Cov| ({} paths, H=0.3, K=5; MC Var(1) {:.4} vs {:.4})",
                cfg.sampler_paths,
                var1,
                ma_cov(&g5, &w5, Kind::TypeI, 1.0, 1.0)?
            ),
            num(max_err),
            "< 0.06".to_string(),
            part2.to_string(),
        ]);
        drop(paths);

        // 3. Hurst recovery.
        let mut hurst_tab = Table::new(&[
            "H",
            "DH lag 1 mean",
            "sd",
            "MA K=20 gm1000 lag 64 mean",
            "sd",
            "MA K=5 gm20 lag 1 mean",
        ]);
        let mut part3 = true;
        let mut hplot_pts = Vec::new();
        let mut ma_pts = Vec::new();
        let pb = ctx.progress(3, "Hurst");
        for (hi, &h) in [0.2, 0.5, 0.8].iter().enumerate() {
            let n = cfg.hurst_n;
            let mut dh = DaviesHarte::new(n, h, 1.0)?;
            let mut rng = ctx.rng(30 + hi as u64);
            let mut x = vec![0.0; n + 1];
            let mut est = Vec::new();
            for _ in 0..cfg.dh_paths {
                dh.fbm(&mut rng, &mut x)?;
                est.push(hurst_variogram(&x, 1)?);
            }
            let (dm, ds) = mean_sd(&est);
            let ok_dh = (dm - h).abs() < 0.02;
            let mut ma_est = Vec::new();
            let mut ma5 = Vec::new();
            if h != 0.5 {
                let g = grid(20, 1000.0)?;
                let w = weights(&g, h, 1.0)?;
                let s = MafbmSampler::new(&g, &w, Kind::TypeI, 1.0 / n as f64)?;
                for _ in 0..cfg.ma_paths {
                    s.sample(&mut rng, &mut x)?;
                    ma_est.push(hurst_variogram(&x, cfg.ma_lag)?);
                }
                let w5h = weights(&g5, h, 1.0)?;
                let s5 = MafbmSampler::new(&g5, &w5h, Kind::TypeI, 1.0 / n as f64)?;
                for _ in 0..cfg.dh_paths {
                    s5.sample(&mut rng, &mut x)?;
                    ma5.push(hurst_variogram(&x, 1)?);
                }
            }
            let (mm, ms) = if ma_est.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                mean_sd(&ma_est)
            };
            let m5 = if ma5.is_empty() {
                f64::NAN
            } else {
                mean_sd(&ma5).0
            };
            let ok_ma = ma_est.is_empty() || (mm - h).abs() < 0.05;
            part3 &= ok_dh && ok_ma;
            hurst_tab.row_nums(&format!("{h}"), &[dm, ds, mm, ms, m5]);
            hplot_pts.push((h, dm));
            if mm.is_finite() {
                ma_pts.push((h, mm));
            }
            table.row(&[
                "3 Hurst".to_string(),
                format!("DH mean H_hat (H={h}, {} paths, lag 1)", cfg.dh_paths),
                num(dm),
                "|mean - H| < 0.02".to_string(),
                ok_dh.to_string(),
            ]);
            if mm.is_finite() {
                table.row(&[
                    "3 Hurst".to_string(),
                    format!(
                        "MA-fBM mean H_hat (H={h}, {} paths, lag {})",
                        cfg.ma_paths, cfg.ma_lag
                    ),
                    num(mm),
                    "|mean - H| < 0.05".to_string(),
                    ok_ma.to_string(),
                ]);
                notes.push(format!("H = {h}: MA-fBM K=5 gm20 at lag 1 gives {m5:.3} (Brownian below 1/gamma_max, expected ~0.5)"));
            }
            pb.inc(1);
        }
        pb.finish_and_clear();

        // 4. fOU evidence maximisation over (H, theta).
        let (k4, gm4, t_om, dt4, r4) = (10usize, 100.0, 10.0, 0.05, 0.05);
        let truth = FouModel::with_hurst(1.0, 1.0, 0.7, k4, gm4, t_om)?;
        let tstep = truth.discretise(dt4)?;
        let mut rng = ctx.rng(4);
        let mut obs = Vec::new();
        let mut xlat = vec![0.0; cfg.fou_obs];
        for _ in 0..cfg.fou_paths {
            let mut y = vec![0.0; cfg.fou_obs];
            truth.simulate(&tstep, &mut rng, r4, &mut xlat, &mut y)?;
            obs.push(y);
        }
        let hs: Vec<f64> = (0..13).map(|i| 0.30 + 0.05 * i as f64).collect();
        let thetas = [0.5, 0.75, 1.0, 1.5, 2.0];
        let mut ll = vec![vec![0.0; thetas.len()]; hs.len()];
        let pb = ctx.progress(hs.len() as u64, "fOU grid");
        for (i, &h) in hs.iter().enumerate() {
            for (j, &th) in thetas.iter().enumerate() {
                let m = FouModel::with_hurst(th, 1.0, h, k4, gm4, t_om)?;
                let s = m.discretise(dt4)?;
                let mut tot = 0.0;
                for y in &obs {
                    tot += m.log_evidence(&s, y, r4)?;
                }
                ll[i][j] = tot;
            }
            pb.inc(1);
        }
        pb.finish_and_clear();
        let (mut bi, mut bj) = (0, 0);
        for i in 0..hs.len() {
            for j in 0..thetas.len() {
                if ll[i][j] > ll[bi][bj] {
                    (bi, bj) = (i, j);
                }
            }
        }
        let (h_hat, th_hat) = (hs[bi], thetas[bj]);
        let ok_h = (h_hat - 0.7).abs() <= 0.05 + 1e-9;
        let ok_th = (0.75..=1.5).contains(&th_hat);
        table.row(&[
            "4 fOU evidence".to_string(),
            format!(
                "argmax (H, theta) over {} paths x {} obs",
                cfg.fou_paths, cfg.fou_obs
            ),
            format!("({h_hat:.2}, {th_hat})"),
            "H = 0.70 +- 0.05, theta in [0.75, 1.5]".to_string(),
            (ok_h && ok_th).to_string(),
        ]);
        let best = ll[bi][bj];
        let mut ll_tab = Table::new(
            &std::iter::once("H \\ theta".to_string())
                .chain(thetas.iter().map(|t| format!("{t}")))
                .collect::<Vec<_>>(),
        );
        for (i, &h) in hs.iter().enumerate() {
            ll_tab.row_nums(
                &format!("{h:.2}"),
                &ll[i].iter().map(|v| v - best).collect::<Vec<_>>(),
            );
        }
        let ll_plot = Plot::new(
            "fou_loglik.svg",
            "fOU log-evidence (relative to max), best theta per H",
            "H",
            "log-lik - max",
        )
        .with(Series::line(
            "max over theta",
            hs.iter()
                .zip(&ll)
                .map(|(&h, r)| {
                    (
                        h,
                        r.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - best,
                    )
                })
                .collect(),
        ))
        .with(Series::points(
            "theta = 1",
            hs.iter().zip(&ll).map(|(&h, r)| (h, r[2] - best)).collect(),
        ));

        // 5. Monte-Carlo ELBO with u = 0 (Euler-Maruyama on the true model) <= evidence.
        let y0 = &obs[0];
        let evidence = truth.log_evidence(&tstep, y0, r4)?;
        let sub = 12usize; // gamma_max * dt = 100 * 0.05 / 12 < 0.5
        let g10 = grid(k4, gm4)?;
        let w10 = weights(&g10, 0.7, t_om)?;
        let noise = MafbmNoise {
            gamma: &g10,
            omega: &w10,
            kind: Kind::TypeI,
            dt: dt4 / sub as f64,
            n_steps: cfg.fou_obs * sub,
        };
        let mut path = vec![0.0; cfg.fou_obs * sub + 1];
        let mut rng = ctx.rng(5);
        let mut terms = Vec::with_capacity(cfg.elbo_paths);
        let c0 = -0.5 * (2.0 * std::f64::consts::PI * r4 * r4).ln();
        for _ in 0..cfg.elbo_paths {
            let kl = euler_mafbm(
                &noise,
                &[0.0],
                |_, x, b| b[0] = -x[0],
                |_, _, s| s[0] = 1.0,
                |_, _, _, u| u[0] = 0.0,
                &mut rng,
                &mut path,
            )?;
            let lik: f64 = y0
                .iter()
                .enumerate()
                .map(|(n, &y)| {
                    let x = path[(n + 1) * sub];
                    c0 - 0.5 * (y - x) * (y - x) / (r4 * r4)
                })
                .sum();
            terms.push(lik - kl);
        }
        let (elbo, elbo_sd) = mean_sd(&terms);
        let elbo_se = elbo_sd / (terms.len() as f64).sqrt();
        let ok_elbo = elbo <= evidence + 3.0 * elbo_se;
        table.row(&[
            "5 ELBO (u = 0)".to_string(),
            format!(
                "MC ELBO {} prior paths (SE {}) vs Kalman log-evidence {}",
                cfg.elbo_paths,
                num(elbo_se),
                num(evidence)
            ),
            num(elbo),
            "<= evidence + 3 SE".to_string(),
            ok_elbo.to_string(),
        ]);

        let pass = part1 && part2 && part3 && ok_h && ok_th && ok_elbo;
        let mut out = Outcome::new(
            &cfg,
            "(1) relFrob non-increasing in K for H in {0.3, 0.7} and relFrob(K=20, gm1000) < 0.002 (H=0.3), < 0.01 (H=0.7); \
             (2) sampler max |emp - Cov| < 0.06; (3) Davies-Harte |mean H_hat - H| < 0.02 for H in {0.2, 0.5, 0.8} at lag 1, \
             MA-fBM (K=20, gm1000) |mean H_hat - H| < 0.05 at lag 64; (4) evidence argmax H = 0.70 +- 0.05, theta in [0.75, 1.5]; \
             (5) MC ELBO(u = 0) <= log-evidence + 3 SE",
        )?;
        out.pass = pass;
        out.measure("rel_frob", &rel)
            .measure("sampler_max_err", max_err)
            .measure("fou_argmax_h", h_hat)
            .measure("fou_argmax_theta", th_hat)
            .measure("elbo_prior", elbo)
            .measure("log_evidence", evidence);
        out.table = table;
        out.csv.push(("cov_error.csv".into(), cov_tab));
        out.csv.push(("hurst.csv".into(), hurst_tab));
        out.csv.push(("fou_loglik.csv".into(), ll_tab));
        out.plots.push(cov_plot);
        out.plots.push(
            Plot::new(
                "hurst.svg",
                "Hurst recovery (variogram estimator)",
                "true H",
                "mean H_hat",
            )
            .with(Series::line("identity", vec![(0.2, 0.2), (0.8, 0.8)]))
            .with(Series::points("Davies-Harte, lag 1", hplot_pts))
            .with(Series::points("MA-fBM K=20 gm1000, lag 64", ma_pts)),
        );
        out.plots.push(ll_plot);
        out.notes = notes;
        Ok(out)
    }
}
