//! Repro `sampler-stats`: the primitive samplers reproduce their distributions.
//!
//! For each sampler and several seeds derived from the master seed: the first moments against
//! their exact values (z-scores: exact standard errors for mean and variance, batch means for
//! skewness and kurtosis) and a Kolmogorov-Smirnov test against the exact CDF (a DKW band for
//! the discrete Poisson). PASS when every p-value > 1e-5 (Bonferroni-safe for the tests run).

use anyhow::Result;
use noisekit::rng::stats::{self, moments};
use noisekit::rng::{bulk, seq, NoiseKey};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `sampler-stats` reproduction.
pub struct SamplerStats;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Samples per sampler and seed.
    samples: usize,
    /// Seeds per sampler.
    seeds: u64,
}

/// Exact moments: mean, variance, skewness, excess kurtosis (NaN = not checked).
struct Exact {
    mean: f64,
    var: f64,
    skew: f64,
    kurt: f64,
}

struct Check {
    name: &'static str,
    min_moment_p: f64,
    min_ks_p: f64,
}

/// The smallest two-sided p-value of the moment checks: normal reference for mean and variance
/// (exact SEs), Student-t with `batches - 1` degrees of freedom for the batch-mean SEs.
fn moment_pvalue(xs: &[f64], e: &Exact) -> f64 {
    let n = xs.len() as f64;
    let m = moments(xs);
    let two_sided_normal = |z: f64| 2.0 * stats::normal_cdf(-z.abs());
    let mut p = two_sided_normal((m.mean - e.mean) / (e.var / n).sqrt());
    // SE of the variance needs the fourth central moment: var^2 (kurt + 2).
    if e.kurt.is_finite() {
        p = p.min(two_sided_normal(
            (m.var - e.var) / (e.var * e.var * (e.kurt + 2.0) / n).sqrt(),
        ));
    }
    // Skewness and kurtosis: the SE of their estimators needs moments up to 6 and 8, so it is
    // estimated by batch means (20 batches), which holds for any law with those moments finite.
    let batches = 20;
    let two_sided_t = |t: f64| 2.0 * stats::student_t_cdf(-t.abs(), batches as f64 - 1.0);
    let len = xs.len() / batches;
    let per_batch: Vec<_> = xs.chunks_exact(len).map(moments).collect();
    let batch_se = |f: fn(&stats::Moments) -> f64| {
        let v: Vec<f64> = per_batch.iter().map(f).collect();
        (moments(&v).var * batches as f64 / (batches as f64 - 1.0) / batches as f64).sqrt()
    };
    if e.skew.is_finite() {
        p = p.min(two_sided_t((m.skew - e.skew) / batch_se(|b| b.skew)));
    }
    if e.kurt.is_finite() {
        p = p.min(two_sided_t(
            (m.excess_kurtosis - e.kurt) / batch_se(|b| b.excess_kurtosis),
        ));
    }
    p
}

impl Repro for SamplerStats {
    fn name(&self) -> &'static str {
        "sampler-stats"
    }
    fn spec(&self) -> &'static str {
        "DESIGN"
    }
    fn title(&self) -> &'static str {
        "Primitive samplers (Philox bulk normal, Ziggurat normal, uniform, gamma, Poisson, Student-t) match their laws"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            samples: if ctx.quick { 20_000 } else { 200_000 },
            seeds: if ctx.quick { 3 } else { 10 },
        })?;
        if cfg.samples < 100 || cfg.seeds == 0 {
            anyhow::bail!("config: samples must be >= 100 and seeds >= 1");
        }
        let n = cfg.samples;
        let pb = ctx.progress(cfg.seeds, "seeds");
        let mut checks: Vec<Check> = Vec::new();
        let mut record =
            |name: &'static str, z: f64, p: f64| match checks.iter_mut().find(|c| c.name == name) {
                Some(c) => {
                    c.min_moment_p = c.min_moment_p.min(z);
                    c.min_ks_p = c.min_ks_p.min(p);
                }
                None => checks.push(Check {
                    name,
                    min_moment_p: z,
                    min_ks_p: p,
                }),
            };
        let normal = Exact {
            mean: 0.0,
            var: 1.0,
            skew: 0.0,
            kurt: 0.0,
        };
        let mut hist = vec![0usize; 60];
        for s in 0..cfg.seeds {
            let mut rng = ctx.rng(s);
            // Philox bulk normal (f32).
            let mut z32 = vec![0f32; n];
            bulk::fill_normal_f32(&NoiseKey::new(ctx.seed, s as u32), &mut z32);
            let mut xs: Vec<f64> = z32.iter().map(|&v| v as f64).collect();
            for &x in &xs {
                let b = ((x + 3.0) * 10.0).floor();
                if (0.0..60.0).contains(&b) {
                    hist[b as usize] += 1;
                }
            }
            let z = moment_pvalue(&xs, &normal);
            let d = stats::ks_statistic(&mut xs, stats::normal_cdf);
            record("philox bulk normal f32", z, stats::ks_pvalue(d, n));
            // Philox bulk normal (f64).
            let mut xs = vec![0f64; n];
            bulk::fill_normal_f64(&NoiseKey::new(ctx.seed, 1000 + s as u32), &mut xs);
            let z = moment_pvalue(&xs, &normal);
            let d = stats::ks_statistic(&mut xs, stats::normal_cdf);
            record("philox bulk normal f64", z, stats::ks_pvalue(d, n));
            // Ziggurat normal.
            let mut xs: Vec<f64> = (0..n).map(|_| seq::normal(&mut rng)).collect();
            let z = moment_pvalue(&xs, &normal);
            let d = stats::ks_statistic(&mut xs, stats::normal_cdf);
            record("ziggurat normal", z, stats::ks_pvalue(d, n));
            // Uniform [0, 1).
            let mut xs: Vec<f64> = (0..n).map(|_| seq::uniform(&mut rng)).collect();
            let z = moment_pvalue(
                &xs,
                &Exact {
                    mean: 0.5,
                    var: 1.0 / 12.0,
                    skew: 0.0,
                    kurt: -1.2,
                },
            );
            let d = stats::ks_statistic(&mut xs, |x| x.clamp(0.0, 1.0));
            record("uniform", z, stats::ks_pvalue(d, n));
            // Gamma(k = 2.5, theta = 1.5).
            let (k, th) = (2.5, 1.5);
            let mut xs = (0..n)
                .map(|_| seq::gamma(&mut rng, k, th))
                .collect::<noisekit::Result<Vec<f64>>>()?;
            let e = Exact {
                mean: k * th,
                var: k * th * th,
                skew: 2.0 / k.sqrt(),
                kurt: 6.0 / k,
            };
            let z = moment_pvalue(&xs, &e);
            let d = stats::ks_statistic(&mut xs, |x| stats::gamma_cdf(x, k, th));
            record("gamma(2.5, 1.5)", z, stats::ks_pvalue(d, n));
            // Student-t(nu = 9): finite moments up to 8, so the kurtosis SE exists.
            let nu = 9.0;
            let mut xs = (0..n)
                .map(|_| seq::student_t(&mut rng, nu))
                .collect::<noisekit::Result<Vec<f64>>>()?;
            let e = Exact {
                mean: 0.0,
                var: nu / (nu - 2.0),
                skew: f64::NAN,
                kurt: 6.0 / (nu - 4.0),
            };
            let z = moment_pvalue(&xs, &e);
            let d = stats::ks_statistic(&mut xs, |x| stats::student_t_cdf(x, nu));
            record("student-t(9)", z, stats::ks_pvalue(d, n));
            // Poisson(3.5): moments and the sup-distance between CDFs at the integers.
            let lam = 3.5;
            let counts = (0..n)
                .map(|_| seq::poisson(&mut rng, lam))
                .collect::<noisekit::Result<Vec<u64>>>()?;
            let xs: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
            let e = Exact {
                mean: lam,
                var: lam,
                skew: 1.0 / lam.sqrt(),
                kurt: 1.0 / lam,
            };
            let z = moment_pvalue(&xs, &e);
            let mut d: f64 = 0.0;
            for kk in 0..30u64 {
                let emp = counts.iter().filter(|&&c| c <= kk).count() as f64 / n as f64;
                d = d.max((emp - stats::poisson_cdf(kk, lam)).abs());
            }
            // DKW: P(sup|F_n - F| > d) <= 2 exp(-2 n d^2) (conservative for discrete laws).
            record(
                "poisson(3.5)",
                z,
                (2.0 * (-2.0 * n as f64 * d * d).exp()).min(1.0),
            );
            // Bernoulli(0.3).
            let hits = (0..n)
                .map(|_| seq::bernoulli(&mut rng, 0.3))
                .collect::<noisekit::Result<Vec<bool>>>()?;
            let xs: Vec<f64> = hits.iter().map(|&h| f64::from(u8::from(h))).collect();
            let p = 0.3f64;
            let sk = (1.0 - 2.0 * p) / (p * (1.0 - p)).sqrt();
            let e = Exact {
                mean: p,
                var: p * (1.0 - p),
                skew: sk,
                kurt: sk * sk - 2.0,
            };
            record("bernoulli(0.3)", moment_pvalue(&xs, &e), 1.0);
            pb.inc(1);
        }
        pb.finish_and_clear();
        let min_moment_p = checks.iter().map(|c| c.min_moment_p).fold(1.0, f64::min);
        let min_ks_p = checks.iter().map(|c| c.min_ks_p).fold(1.0, f64::min);
        // About 30 tests per seed: a per-test level of 1e-5 keeps the whole run's false-alarm
        // rate below 0.1% (Bonferroni) at the full scale too.
        let pass = min_moment_p > 1e-5 && min_ks_p > 1e-5;
        let mut table = Table::new(&["sampler", "min moment p", "min KS p"]);
        for c in &checks {
            table.row(&[c.name.to_string(), num(c.min_moment_p), num(c.min_ks_p)]);
        }
        let mut out = Outcome::new(
            &cfg,
            "every moment test and every KS test has p-value > 1e-5, over all seeds",
        )?;
        out.pass = pass;
        out.measure("min_moment_p", min_moment_p)
            .measure("min_ks_p", min_ks_p);
        out.table = table;
        let total: usize = hist.iter().sum();
        let dens: Vec<(f64, f64)> = hist
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                (
                    -3.0 + (i as f64 + 0.5) / 10.0,
                    c as f64 / total as f64 * 10.0,
                )
            })
            .collect();
        let exact: Vec<(f64, f64)> = (0..=120)
            .map(|i| {
                let x = -3.0 + i as f64 * 0.05;
                (
                    x,
                    (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt(),
                )
            })
            .collect();
        out.plots.push(
            Plot::new(
                "normal_hist.svg",
                "Philox bulk normal: histogram vs N(0,1) density",
                "x",
                "density",
            )
            .with(Series::points("Philox + Box-Muller", dens))
            .with(Series::line("N(0,1)", exact)),
        );
        Ok(out)
    }
}
