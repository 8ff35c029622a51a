//! Repro `golden-noise` (spec 18, Zhou et al. 2024, arXiv 2411.09502), as an analytic toy: a DDIM
//! sampler with classifier-free guidance on a class-conditional Gaussian mixture (closed-form
//! epsilon, weak conditional model gamma = 0.3). Re-denoise sampling (one DDIM step at CFG 5.5,
//! inverted at CFG 1.0) maps a random noise to a "golden" noise whose samples are better aligned
//! with the class (reward: Bayes posterior P(c | x0) under the true mixture). A small
//! noise-transform network (NPNet toy) learns x_T -> x'_T from filtered pairs and transfers the gain
//! to held-out noises; a per-class affine map is the reference.

use anyhow::{bail, Result};
use noisekit::rng::seq;
use noisekit::score::golden::{ddim_timesteps, scaled_linear_alphabar, ClassMixture};
use noisekit::score::npnet::{Adam, AffineNoiseMap, NpNetToy};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `golden-noise` reproduction.
pub struct GoldenNoise;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Dimension of the noise.
    d: usize,
    /// Classes ("prompts").
    classes: usize,
    /// Norm of the class means.
    mean_norm: f64,
    /// Component std.
    s0: f64,
    /// Strength of the weak conditional model.
    gamma: f64,
    /// CFG scale when sampling.
    w_gen: f64,
    /// DDIM steps.
    steps: usize,
    /// Re-denoise CFG (denoising step).
    w_l: f64,
    /// Re-denoise CFG (inversion step).
    w_w: f64,
    /// Filter margin on the reward.
    margin: f64,
    /// Pairs collected (half train, half test).
    pairs: usize,
    /// NPNet hidden width.
    hidden: usize,
    /// Adam learning rate.
    lr: f64,
    /// Batch size.
    batch: usize,
    /// Training steps.
    train_steps: usize,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

impl Repro for GoldenNoise {
    fn name(&self) -> &'static str {
        "golden-noise"
    }
    fn spec(&self) -> &'static str {
        "18"
    }
    fn title(&self) -> &'static str {
        "Golden noise from re-denoise sampling improves alignment; a small noise-transform net learns it"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            d: 16,
            classes: 4,
            mean_norm: 2.0,
            s0: 0.5,
            gamma: 0.3,
            w_gen: 2.0,
            steps: 10,
            w_l: 5.5,
            w_w: 1.0,
            margin: 0.0,
            pairs: 4000,
            hidden: 64,
            lr: 1e-3,
            batch: 256,
            train_steps: 2000,
        })?;
        if cfg.d == 0 || cfg.classes == 0 || cfg.pairs < 4 || cfg.batch == 0 || cfg.steps < 2 {
            bail!("config: d, classes, batch >= 1, pairs >= 4, steps >= 2");
        }
        let d = cfg.d;
        let mut rng = ctx.rng(0);
        let mut means = vec![0.0; cfg.classes * d];
        for mu in means.chunks_exact_mut(d) {
            for v in mu.iter_mut() {
                *v = seq::normal(&mut rng);
            }
            let nrm = mu.iter().map(|v| v * v).sum::<f64>().sqrt();
            mu.iter_mut().for_each(|v| *v *= cfg.mean_norm / nrm);
        }
        let pi = vec![1.0 / cfg.classes as f64; cfg.classes];
        let mix = ClassMixture::new(&means, &pi, cfg.s0, cfg.gamma)?;
        let mut ts = vec![0usize; cfg.steps];
        ddim_timesteps(&mut ts)?;
        let abars: Vec<f64> = ts
            .iter()
            .map(|&t| scaled_linear_alphabar(t))
            .collect::<noisekit::Result<_>>()?;
        let (a_t, a_s) = (abars[0], abars[1]);
        let (mut eps, mut tmp) = (vec![0.0; d], vec![0.0; d]);
        let mut reward = |x: &[f64], c: usize| -> Result<f64> {
            let mut y = x.to_vec();
            mix.sample(&mut y, c, cfg.w_gen, &abars, &mut eps, &mut tmp)?;
            Ok(mix.alignment(&y, c)?)
        };

        // 1. Pairs.
        let n = cfg.pairs;
        let mut nrng = ctx.rng(1);
        let mut xs = vec![0.0; n * d];
        seq::fill_gaussian_f64(&mut nrng, 1.0, &mut xs)?;
        let cls: Vec<usize> = (0..n)
            .map(|_| seq::below(&mut nrng, cfg.classes))
            .collect::<noisekit::Result<_>>()?;
        let mut gold = vec![0.0; n * d];
        let mut e2 = vec![0.0; d];
        for ((x, g), &c) in xs.chunks_exact(d).zip(gold.chunks_exact_mut(d)).zip(&cls) {
            mix.re_denoise(x, c, a_t, a_s, cfg.w_l, cfg.w_w, &mut e2, g)?;
        }
        let pb = ctx.progress(cfg.train_steps as u64 + 4, "collect, train, evaluate");
        let mut r_rand = Vec::with_capacity(n);
        let mut r_gold = Vec::with_capacity(n);
        for i in 0..n {
            r_rand.push(reward(&xs[i * d..(i + 1) * d], cls[i])?);
            r_gold.push(reward(&gold[i * d..(i + 1) * d], cls[i])?);
        }
        pb.inc(1);
        // Displacement for equal vs gapped guidance (first min(n, 2000) noises).
        let nd = n.min(2000);
        let mut disp_rows = Vec::new();
        for &(wl, ww) in &[(1.0, 1.0), (2.0, 2.0), (5.5, 5.5), (cfg.w_l, cfg.w_w)] {
            let mut acc = 0.0;
            let mut g = vec![0.0; d];
            for i in 0..nd {
                mix.re_denoise(
                    &xs[i * d..(i + 1) * d],
                    cls[i],
                    a_t,
                    a_s,
                    wl,
                    ww,
                    &mut e2,
                    &mut g,
                )?;
                acc += g
                    .iter()
                    .zip(&xs[i * d..(i + 1) * d])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
            }
            disp_rows.push((wl, ww, acc / nd as f64));
        }
        pb.inc(1);

        // 2. Split and filter.
        let half = n / 2;
        let train_idx: Vec<usize> = (0..half)
            .filter(|&i| r_gold[i] > r_rand[i] + cfg.margin)
            .collect();
        if train_idx.is_empty() {
            bail!("no training pair passed the filter (margin {})", cfg.margin);
        }
        let kept = train_idx.len() as f64 / half as f64;
        let gather = |idx: &[usize], src: &[f64]| {
            idx.iter()
                .flat_map(|&i| src[i * d..(i + 1) * d].iter().copied())
                .collect::<Vec<f64>>()
        };
        let tr_x = gather(&train_idx, &xs);
        let tr_g = gather(&train_idx, &gold);
        let tr_c: Vec<usize> = train_idx.iter().map(|&i| cls[i]).collect();

        // 3. Train NPNet toy and the affine baseline.
        let mut irng = ctx.rng(2);
        let mut net = NpNetToy::new(&mut irng, d, cfg.classes, cfg.hidden)?;
        let mut adam = Adam::new(net.params().len(), cfg.lr)?;
        let mut grad = vec![0.0; net.params().len()];
        let mut brng = ctx.rng(3);
        let bsz = cfg.batch.min(tr_c.len());
        let (mut bx, mut bg, mut bc) = (vec![0.0; bsz * d], vec![0.0; bsz * d], vec![0usize; bsz]);
        let mut loss_curve = Vec::new();
        for step in 0..cfg.train_steps {
            for b in 0..bsz {
                let j = seq::below(&mut brng, tr_c.len())?;
                bx[b * d..(b + 1) * d].copy_from_slice(&tr_x[j * d..(j + 1) * d]);
                bg[b * d..(b + 1) * d].copy_from_slice(&tr_g[j * d..(j + 1) * d]);
                bc[b] = tr_c[j];
            }
            let l = net.loss_grad(&bx, &bc, &bg, &mut grad)?;
            adam.step(net.params_mut(), &grad)?;
            if step % 20 == 0 || step + 1 == cfg.train_steps {
                loss_curve.push(((step + 1) as f64, l));
            }
            pb.inc(1);
        }
        let affine = AffineNoiseMap::fit(&tr_x, &tr_c, &tr_g, d, cfg.classes, 1e-3)?;

        // 4. Held-out evaluation.
        let test: Vec<usize> = (half..n).collect();
        let mut rows: Vec<(String, f64, f64, f64, f64)> = Vec::new();
        let mut pred = vec![0.0; d];
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let mse = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64
        };
        for method in [
            "random noise x_T",
            "oracle golden x'_T",
            "NPNet toy",
            "affine per class",
        ] {
            let (mut al, mut acc, mut m2, mut nr) = (Vec::new(), 0.0, Vec::new(), Vec::new());
            for &i in &test {
                let x = &xs[i * d..(i + 1) * d];
                let g = &gold[i * d..(i + 1) * d];
                match method {
                    "random noise x_T" => pred.copy_from_slice(x),
                    "oracle golden x'_T" => pred.copy_from_slice(g),
                    "NPNet toy" => net.forward(x, cls[i], &mut pred)?,
                    _ => affine.apply(x, cls[i], &mut pred)?,
                }
                let r = reward(&pred, cls[i])?;
                al.push(r);
                if r > 0.5 {
                    acc += 1.0;
                }
                m2.push(mse(&pred, g));
                nr.push(norm(&pred));
            }
            rows.push((
                method.to_string(),
                mean(&al),
                acc / test.len() as f64,
                mean(&m2),
                mean(&nr),
            ));
        }
        pb.inc(2);
        pb.finish_and_clear();
        let (base, oracle, npn) = (&rows[0], &rows[1], &rows[2]);
        let oracle_gain = oracle.1 - base.1;
        let net_gain = npn.1 - base.1;
        let mse_ratio = npn.3 / base.3;
        let norm_dev = (npn.4 / base.4 - 1.0).abs();
        let pass = oracle_gain >= 0.02
            && mse_ratio <= 0.2
            && net_gain >= 0.6 * oracle_gain
            && norm_dev <= 0.02;
        let mut table = Table::new(&[
            "method (held-out noises)",
            "mean P(c|x0)",
            "accuracy",
            "MSE to x'_T",
            "mean |noise|",
        ]);
        for r in &rows {
            table.row(&[r.0.clone(), num(r.1), num(r.2), num(r.3), num(r.4)]);
        }
        let mut disp = Table::new(&["w_l (denoise)", "w_w (inversion)", "mean |x'_T - x_T|"]);
        for &(a, b, m) in &disp_rows {
            disp.row(&[num(a), num(b), num(m)]);
        }
        let mut out = Outcome::new(
            &cfg,
            "oracle golden noise gain in mean P(c|x0) >= 0.02 over random noise; NPNet toy on held-out noises: MSE to x'_T <= 0.2 x MSE(x_T, x'_T), \
             alignment gain >= 0.6 x oracle gain, mean |pred| within 2% of mean |x_T|",
        )?;
        out.pass = pass;
        out.measure("oracle_gain", oracle_gain)
            .measure("npnet_gain", net_gain)
            .measure("npnet_mse_over_identity_mse", mse_ratio)
            .measure("npnet_norm_rel_dev", norm_dev)
            .measure("affine_gain", rows[3].1 - base.1)
            .measure("train_pairs_kept_fraction", kept)
            .measure(
                "train_pairs_kept_mean_gain",
                mean(
                    &train_idx
                        .iter()
                        .map(|&i| r_gold[i] - r_rand[i])
                        .collect::<Vec<_>>(),
                ),
            )
            .measure(
                "displacement_gap_over_equal_5p5",
                disp_rows[3].2 / disp_rows[2].2,
            );
        out.table = table;
        out.csv.push(("displacement.csv".into(), disp));
        out.plots.push(
            Plot::new(
                "npnet_loss.svg",
                "NPNet toy training loss (MSE to golden noise)",
                "step",
                "MSE",
            )
            .log(true, true)
            .with(Series::line("train minibatch MSE", loss_curve))
            .with(Series::line(
                "identity MSE (held-out)",
                vec![(1.0, base.3), (cfg.train_steps as f64, base.3)],
            )),
        );
        out.notes.push(format!(
            "{} of {} training pairs passed the reward filter (margin {}). The toy NPNet has no SVD branch (see the core docs).",
            train_idx.len(),
            half,
            cfg.margin
        ));
        Ok(out)
    }
}
