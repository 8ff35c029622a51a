//! Repro `nmtune` (spec 15): label noise in pre-training hurts transfer of frozen features and
//! spreads their singular-value spectrum; NMTune's residual feature transform (with its three
//! regularisers) beats the linear probe in and out of domain.
//!
//! Synthetic world per seed: 20 Gaussian clusters in 32-d (means N(0, 0.8^2 I), unit noise).
//! Pre-training: 3000 samples, labels = cluster id with code-style symmetric noise at eta_pre in
//! {0, 0.4} (same samples, same init for both), MLP 32-64-20 (ReLU), full-batch GD lr 0.5, 1500
//! steps; the frozen feature map is the 64-d ReLU layer. Downstream: 4 classes = random groups of 5
//! clusters, 200 train samples, 2000 ID test, 2000 OOD test with x -> 1.5 x + delta
//! (delta ~ N(0, 1.5^2 I), fixed per seed); features standardised with the train mean/std.
//! Methods: linear probe (Adam lr 0.01, 300 steps, L2 1e-4); NMTune (residual MLP 64-256-64, no
//! BatchNorm, W2 x 0.1, scale 1, head on z, Adam lr 0.003, 300 steps, weights (1.0, 0.04, 0.001),
//! k = 5, L2 1e-4 on weights); MLP-noreg (the same with all weights 0).
//!
//! Formulas checked against the official code (github.com/Hhhhhhao/Noisy-Model-Learning,
//! `src/models/nml_tune.py`, commit e9c5fb1): `cov_loss = off_diagonal(C).pow(2).sum() / D` with
//! `C = Zc^T Zc / (n - 1)` on the centred TRANSFORMED features of the concatenated batch,
//! `loss -= w_svd * mean(s[:5] / sum(s))` on the uncentred transformed features,
//! `MSELoss(normalize(z_s), normalize(f_w).detach())`, residual `z = scale * mlp(f) + f`, and the
//! README weights 1.0 / 0.04 / 0.001 are exactly what spec 15 and `noisekit::robust::nmtune`
//! implement (single view: the only difference is (n - 1) vs (2n - 1) in C's normaliser with a
//! duplicated batch, a factor 2(n-1)/(2n-1) ~ 1). No normalisation error explains the failures.
//!
//! The head of NMTune and MLP-noreg is initialised as the reference code's `ClassificationHead`
//! (`kaiming_uniform` weights, zero bias; `Init::KaimingUniform`); the linear probe keeps
//! PyTorch's `nn.Linear` default.
//!
//! Full runs (3 seeds each) at master seeds 0-3 with that head: criteria 1-2 hold 4/4, criterion 3
//! 1/4, criterion 4 0/4 (max |NMTune - MLP-noreg| 7.0-12.0 points, NMTune lower on OOD), while
//! MLP-noreg retrained with only another init stream moves OOD by up to 6.5 points. The
//! regulariser gradient on `z` matches the CE gradient in size from step ~100 on (|dReg/dz| /
//! |dCE/dz| = 0.98-1.01 at steps 100-300) and drives `L_COV` from 2-3.4 at init to 0.17-0.24:
//! the transform whitens the standardised features, which amplifies the train-time low-variance
//! directions that the OOD shift excites. An independent PyTorch autograd run of the same
//! protocol (`fixtures/crosscheck/nmtune_torch.py`, float64, torch's RNG) fails criteria 3-4 on
//! master seeds 1-3 as well (max |NMTune - MLP-noreg| 4.6 / 9.8 / 5.8 / 5.2 points at 0-3).
//!
//! Earlier finding (quick scale, 2 seeds per run, master seeds 0-9): whole repro passes 2/10; criterion 1
//! holds 8/10 (OOD drop of the probe -0.9 and 2.8 points on the failures), 2 10/10, 3 4/10, 4 4/10.
//! Criteria 3-4 fail because the regularisers make OOD accuracy unstable at this shift
//! (x -> 1.5 x + delta, |delta| ~ 8.5 vs ~6.4 between cluster means): NMTune minus MLP-noreg
//! on OOD ranges -12.4..+10.7 points over the 40 rows (mean -1.7), while retraining MLP-noreg with
//! only another init stream moves OOD by at most 6.5 points (`max_noreg_init_spread_ood`, column
//! "noreg'"). Criterion 3's test applied to MLP-noreg instead of NMTune holds on 8/10 runs (6/10
//! with the other init), so the residual head carries the gain and the regularisers at the
//! reference weights lower it on average, consistent with the spec author's own ablation
//! (NMTune - MLP-noreg OOD -3.1..+0.9). The swings come from the covariance term: with
//! `w_cov = 0` (diagnostic only, not a default) NMTune - MLP-noreg OOD stays in -4.5..+6.2 (inside
//! the init-only spread), criterion 4 holds 9/10 and criterion 3 6/10 (still failing on the runs
//! where MLP-noreg itself is within 3 points of the probe OOD). Feeding raw instead of standardised features (the reference
//! code does not standardise) did not help (0/6 runs). An earlier throwaway PyTorch check on the
//! same exported features showed the same sign pattern (not rerun). This is a property of the toy
//! protocol at the reference weights, not an implementation error. Pre-training uses PyTorch's
//! default init (`pre_init = "torch"`); He init matches the spec's SVE values more closely but gave
//! a smaller OOD drop of the linear probe. Criterion comparisons use a 1e-9 tolerance: accuracies
//! are multiples of 1/2000 and an exact 5-point gap evaluated to 0.05000000000000004 (this alone
//! failed master seed 0).

use anyhow::Result;
use noisekit::backend::{apply_update, UpdateRule};
use noisekit::models::{loss, Activation, Init, Mlp, MlpCache};
use noisekit::rng::seq;
use noisekit::robust::label_noise::{symmetric, SymStyle};
use noisekit::robust::nmtune::{regularizers, NmtuneWeights};
use noisekit::robust::residual_mlp::{ResidualCache, ResidualMlp};
use noisekit::robust::spectrum::{feature_spectrum, Centering};
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// Accuracies are multiples of 1 / 2000: a difference of exactly 5 points must compare as 5 points
/// (f64 subtraction gives 0.05000000000000004, which failed criterion 4 on seed 0).
const TOL: f64 = 1e-9;

/// The `nmtune` reproduction.
pub struct Nmtune;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    input_dim: usize,
    clusters: usize,
    cluster_std: f64,
    pre_samples: usize,
    pre_hidden: usize,
    pre_lr: f32,
    pre_steps: usize,
    /// Pre-training init: "he" (He normal) or "torch" (PyTorch nn.Linear default).
    pre_init: String,
    noise_levels: Vec<f64>,
    down_classes: usize,
    down_train: usize,
    down_test: usize,
    ood_scale: f64,
    ood_shift_std: f64,
    steps: usize,
    lp_lr: f32,
    nm_lr: f32,
    nm_hidden: usize,
    w2_scale: f32,
    l2: f32,
    w_mse: f64,
    w_cov: f64,
    w_svd: f64,
    k: usize,
    seeds: u64,
}

impl Config {
    fn default_for(quick: bool) -> Self {
        Self {
            input_dim: 32,
            clusters: 20,
            cluster_std: 0.8,
            pre_samples: 3000,
            pre_hidden: 64,
            pre_lr: 0.5,
            pre_steps: 1500,
            pre_init: "torch".into(),
            noise_levels: vec![0.0, 0.4],
            down_classes: 4,
            down_train: 200,
            down_test: 2000,
            ood_scale: 1.5,
            ood_shift_std: 1.5,
            steps: 300,
            lp_lr: 0.01,
            nm_lr: 0.003,
            nm_hidden: 256,
            w2_scale: 0.1,
            l2: 1e-4,
            w_mse: 1.0,
            w_cov: 0.04,
            w_svd: 0.001,
            k: 5,
            seeds: if quick { 2 } else { 3 },
        }
    }
}

/// Adam (no weight decay) state for one tensor.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
    fn step(&mut self, lr: f32, t: u64, p: &mut [f32], g: &[f32]) -> Result<()> {
        let rule = UpdateRule::AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step: t,
        };
        apply_update(&rule, p, g, &mut [&mut self.m, &mut self.v], None, 0)?;
        Ok(())
    }
}

/// Adds `l2 * w` to the weight gradients (not the biases) of an MLP.
fn add_l2(mlp: &Mlp, grads: &mut [f32], l2: f32) {
    for l in &mlp.layers {
        let range = l.w_offset..l.b_offset;
        grads[range.clone()]
            .iter_mut()
            .zip(&mlp.params[range])
            .for_each(|(g, &w)| *g += l2 * w);
    }
}

struct World {
    means: Vec<f64>,
}

/// `n` samples: (inputs, cluster ids).
fn draw(
    rng: &mut noisekit::rng::DefaultRng,
    w: &World,
    cfg: &Config,
    n: usize,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let d = cfg.input_dim;
    let mut x = Vec::with_capacity(n * d);
    let mut c = Vec::with_capacity(n);
    for _ in 0..n {
        let k = seq::below(rng, cfg.clusters)?;
        for j in 0..d {
            x.push((w.means[k * d + j] + seq::normal(rng)) as f32);
        }
        c.push(k);
    }
    Ok((x, c))
}

fn features(mlp: &Mlp, x: &[f32], n: usize) -> Result<Vec<f32>> {
    let mut cache = MlpCache::default();
    mlp.forward(x, n, &mut cache)?;
    Ok(cache.inputs.get(1).cloned().unwrap_or_default())
}

fn standardise(train: &mut [f32], others: &mut [&mut Vec<f32>], d: usize) {
    let n = train.len() / d;
    for j in 0..d {
        let mean = (0..n).map(|i| train[i * d + j] as f64).sum::<f64>() / n as f64;
        let var = (0..n)
            .map(|i| (train[i * d + j] as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let sd = var.sqrt() + 1e-3;
        let fix = |v: &mut f32| *v = ((*v as f64 - mean) / sd) as f32;
        train.chunks_exact_mut(d).for_each(|r| fix(&mut r[j]));
        for o in others.iter_mut() {
            o.chunks_exact_mut(d).for_each(|r| fix(&mut r[j]));
        }
    }
}

/// `dL/dz = dlogits W` for a single-layer head (`W` is classes x D).
fn head_input_grad(head: &Mlp, dlogits: &[f32], classes: usize, d: usize, out: &mut [f32]) {
    let w = head.weight(0).unwrap_or(&[]);
    for (orow, grow) in out.chunks_exact_mut(d).zip(dlogits.chunks_exact(classes)) {
        orow.fill(0.0);
        for (c, &g) in grow.iter().enumerate() {
            orow.iter_mut()
                .zip(&w[c * d..(c + 1) * d])
                .for_each(|(o, &wv)| *o += g * wv);
        }
    }
}

struct Down<'a> {
    ftr: &'a [f32],
    ytr: &'a [usize],
    evals: [(&'a [f32], &'a [usize]); 2],
    d: usize,
    classes: usize,
}

/// Linear probe: returns (ID acc, OOD acc).
fn linear_probe(ctx: &Ctx, stream: u64, cfg: &Config, dn: &Down) -> Result<[f64; 2]> {
    let (d, c, n) = (dn.d, dn.classes, dn.ytr.len());
    let mut head = Mlp::new(
        &[d, c],
        Activation::Identity,
        Init::TorchDefault,
        &mut ctx.rng(stream),
    )?;
    let mut adam = Adam::new(head.num_params());
    let (mut cache, mut grads, mut dl) = (
        MlpCache::default(),
        vec![0f32; head.num_params()],
        vec![0f32; n * c],
    );
    for t in 1..=cfg.steps {
        let logits = head.forward(dn.ftr, n, &mut cache)?;
        loss::softmax_cross_entropy(logits, dn.ytr, c, &mut dl)?;
        head.backward(&mut cache, &dl, &mut grads)?;
        add_l2(&head, &mut grads, cfg.l2);
        adam.step(cfg.lp_lr, t as u64, &mut head.params, &grads)?;
    }
    let mut acc = [0.0; 2];
    for (a, (f, y)) in acc.iter_mut().zip(dn.evals) {
        let out = head.forward(f, y.len(), &mut cache)?;
        *a = loss::accuracy(out, y, c)?;
    }
    Ok(acc)
}

/// NMTune (or MLP-noreg with zero weights): returns (ID acc, OOD acc).
fn nmtune(ctx: &Ctx, stream: u64, cfg: &Config, dn: &Down, w: &NmtuneWeights) -> Result<[f64; 2]> {
    let (d, c, n) = (dn.d, dn.classes, dn.ytr.len());
    let mut tr = ResidualMlp::new(&mut ctx.rng(stream), d, cfg.nm_hidden, cfg.w2_scale)?;
    let mut head = Mlp::new(
        &[d, c],
        Activation::Identity,
        Init::KaimingUniform,
        &mut ctx.rng(stream + 1),
    )?;
    let (mut a_mlp, mut a_s, mut a_h) = (
        Adam::new(tr.mlp.num_params()),
        Adam::new(d),
        Adam::new(head.num_params()),
    );
    let mut rc = ResidualCache::default();
    let mut hc = MlpCache::default();
    let (mut g_mlp, mut g_s, mut g_h) = (
        vec![0f32; tr.mlp.num_params()],
        vec![0f32; d],
        vec![0f32; head.num_params()],
    );
    let mut dl = vec![0f32; n * c];
    let mut dz = vec![0f32; n * d];
    let f64s: Vec<f64> = dn.ftr.iter().map(|&v| v as f64).collect();
    let mut rg = vec![0f64; n * d];
    for t in 1..=cfg.steps {
        let z = tr.forward(dn.ftr, n, &mut rc)?.to_vec();
        let logits = head.forward(&z, n, &mut hc)?;
        loss::softmax_cross_entropy(logits, dn.ytr, c, &mut dl)?;
        head.backward(&mut hc, &dl, &mut g_h)?;
        head_input_grad(&head, &dl, c, d, &mut dz);
        let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        rg.fill(0.0);
        regularizers(&z64, &f64s, n, d, w, Some(&mut rg))?;
        dz.iter_mut().zip(&rg).for_each(|(o, &r)| *o += r as f32);
        tr.backward(&mut rc, &dz, &mut g_mlp, &mut g_s)?;
        add_l2(&head, &mut g_h, cfg.l2);
        add_l2(&tr.mlp, &mut g_mlp, cfg.l2);
        a_h.step(cfg.nm_lr, t as u64, &mut head.params, &g_h)?;
        a_mlp.step(cfg.nm_lr, t as u64, &mut tr.mlp.params, &g_mlp)?;
        a_s.step(cfg.nm_lr, t as u64, &mut tr.scale, &g_s)?;
    }
    let mut acc = [0.0; 2];
    for (a, (f, y)) in acc.iter_mut().zip(dn.evals) {
        let z = tr.forward(f, y.len(), &mut rc)?.to_vec();
        let out = head.forward(&z, y.len(), &mut hc)?;
        *a = loss::accuracy(out, y, c)?;
    }
    Ok(acc)
}

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    lp: [f64; 2],
    noreg: [f64; 2],
    /// MLP-noreg again with a different init stream: the init-only spread of the accuracies.
    noreg2: [f64; 2],
    nm: [f64; 2],
    sve: f64,
    top: f64,
}

impl Repro for Nmtune {
    fn name(&self) -> &'static str {
        "nmtune"
    }
    fn spec(&self) -> &'static str {
        "15"
    }
    fn title(&self) -> &'static str {
        "NMTune's feature transform improves a linear probe on noisy pre-trained features, in and out of domain"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config::default_for(ctx.quick))?;
        anyhow::ensure!(
            cfg.seeds >= 1 && cfg.steps >= 1 && cfg.pre_steps >= 1,
            "config: seeds, steps, pre_steps >= 1"
        );
        anyhow::ensure!(
            cfg.noise_levels.len() == 2 && cfg.clusters % cfg.down_classes == 0 && cfg.down_classes >= 2,
            "config: noise_levels must hold [clean, noisy]; clusters must be a multiple of down_classes >= 2"
        );
        let weights = NmtuneWeights {
            mse: cfg.w_mse,
            cov: cfg.w_cov,
            svd: cfg.w_svd,
            k: cfg.k,
        };
        weights.validate()?;
        let zero = NmtuneWeights {
            mse: 0.0,
            cov: 0.0,
            svd: 0.0,
            k: cfg.k,
        };
        let (d_in, h) = (cfg.input_dim, cfg.pre_hidden);
        let pb = ctx.progress(cfg.seeds * 2, "pre-train + tune");
        let mut rows: Vec<(u64, f64, Row)> = Vec::new();
        for s in 0..cfg.seeds {
            let base = 1000 * (s + 1);
            let mut rng = ctx.rng(base);
            let mut means = vec![0.0; cfg.clusters * d_in];
            seq::fill_gaussian_f64(&mut rng, cfg.cluster_std, &mut means)?;
            let world = World { means };
            let (xpre, cpre) = draw(&mut rng, &world, &cfg, cfg.pre_samples)?;
            let mut group: Vec<usize> = (0..cfg.clusters).collect();
            seq::shuffle(&mut rng, &mut group);
            let per = cfg.clusters / cfg.down_classes;
            let class_of = |k: usize| group.iter().position(|&g| g == k).unwrap_or(0) / per;
            let (xtr, ctr) = draw(&mut rng, &world, &cfg, cfg.down_train)?;
            let (xid, cid) = draw(&mut rng, &world, &cfg, cfg.down_test)?;
            let (mut xood, cood) = draw(&mut rng, &world, &cfg, cfg.down_test)?;
            let mut delta = vec![0.0; d_in];
            seq::fill_gaussian_f64(&mut rng, cfg.ood_shift_std, &mut delta)?;
            for r in xood.chunks_exact_mut(d_in) {
                r.iter_mut()
                    .zip(&delta)
                    .for_each(|(v, &dl)| *v = (cfg.ood_scale * *v as f64 + dl) as f32);
            }
            let ytr: Vec<usize> = ctr.iter().map(|&k| class_of(k)).collect();
            let yid: Vec<usize> = cid.iter().map(|&k| class_of(k)).collect();
            let yood: Vec<usize> = cood.iter().map(|&k| class_of(k)).collect();
            for &eta in &cfg.noise_levels {
                // Pre-training with label noise (same samples and init at every noise level).
                let clean: Vec<u32> = cpre.iter().map(|&k| k as u32).collect();
                let (mut noisy, mut cor) = (vec![0u32; clean.len()], vec![false; clean.len()]);
                symmetric(
                    &mut ctx.rng(base + 1),
                    &clean,
                    cfg.clusters,
                    eta,
                    SymStyle::Code,
                    &mut noisy,
                    &mut cor,
                )?;
                let ypre: Vec<usize> = noisy.iter().map(|&y| y as usize).collect();
                let init = if cfg.pre_init == "torch" {
                    Init::TorchDefault
                } else {
                    Init::He
                };
                let mut mlp = Mlp::new(
                    &[d_in, h, cfg.clusters],
                    Activation::Relu,
                    init,
                    &mut ctx.rng(base + 2),
                )?;
                let mut cache = MlpCache::default();
                let mut grads = vec![0f32; mlp.num_params()];
                let mut dl = vec![0f32; cfg.pre_samples * cfg.clusters];
                for _ in 0..cfg.pre_steps {
                    let logits = mlp.forward(&xpre, cfg.pre_samples, &mut cache)?;
                    loss::softmax_cross_entropy(logits, &ypre, cfg.clusters, &mut dl)?;
                    mlp.backward(&mut cache, &dl, &mut grads)?;
                    mlp.params
                        .iter_mut()
                        .zip(&grads)
                        .for_each(|(p, g)| *p -= cfg.pre_lr * g);
                }
                anyhow::ensure!(
                    mlp.params.iter().all(|p| p.is_finite()),
                    "pre-training diverged"
                );
                let mut ftr = features(&mlp, &xtr, cfg.down_train)?;
                let mut fid = features(&mlp, &xid, cfg.down_test)?;
                let mut food = features(&mlp, &xood, cfg.down_test)?;
                standardise(&mut ftr, &mut [&mut fid, &mut food], h);
                let fid64: Vec<f64> = fid.iter().map(|&v| v as f64).collect();
                let spec = feature_spectrum(&fid64, cfg.down_test, h, true, Centering::PerSample)?;
                let dn = Down {
                    ftr: &ftr,
                    ytr: &ytr,
                    evals: [(&fid, &yid), (&food, &yood)],
                    d: h,
                    classes: cfg.down_classes,
                };
                let row = Row {
                    lp: linear_probe(ctx, base + 5, &cfg, &dn)?,
                    noreg: nmtune(ctx, base + 6, &cfg, &dn, &zero)?,
                    noreg2: nmtune(ctx, base + 8, &cfg, &dn, &zero)?,
                    nm: nmtune(ctx, base + 6, &cfg, &dn, &weights)?,
                    sve: spec.sve,
                    top: spec.top_share,
                };
                rows.push((s, eta, row));
                pb.inc(1);
            }
        }
        pb.finish_and_clear();
        // Criteria.
        let (clean_eta, noisy_eta) = (cfg.noise_levels[0], cfg.noise_levels[1]);
        let mean_lp = |eta: f64, k: usize| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| r.1 == eta)
                .map(|r| r.2.lp[k])
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let drop_id = mean_lp(clean_eta, 0) - mean_lp(noisy_eta, 0);
        let drop_ood = mean_lp(clean_eta, 1) - mean_lp(noisy_eta, 1);
        let c1 = drop_id >= 0.02 - TOL && drop_ood >= 0.03 - TOL;
        let mut c2 = true;
        let mut min_sve_gain = f64::INFINITY;
        let mut max_top_gain = f64::NEG_INFINITY;
        for s in 0..cfg.seeds {
            let get = |eta: f64| {
                rows.iter()
                    .find(|r| r.0 == s && r.1 == eta)
                    .map(|r| r.2)
                    .unwrap_or_default()
            };
            let (a, b) = (get(clean_eta), get(noisy_eta));
            min_sve_gain = min_sve_gain.min(b.sve - a.sve);
            max_top_gain = max_top_gain.max(b.top - a.top);
            c2 &= b.sve > a.sve && b.top <= a.top + 0.001;
        }
        let min_gain_id = rows
            .iter()
            .map(|r| r.2.nm[0] - r.2.lp[0])
            .fold(f64::INFINITY, f64::min);
        let min_gain_ood = rows
            .iter()
            .map(|r| r.2.nm[1] - r.2.lp[1])
            .fold(f64::INFINITY, f64::min);
        let c3 = min_gain_id >= 0.05 - TOL && min_gain_ood >= 0.03 - TOL;
        let max_abl = rows
            .iter()
            .map(|r| {
                (r.2.nm[0] - r.2.noreg[0])
                    .abs()
                    .max((r.2.nm[1] - r.2.noreg[1]).abs())
            })
            .fold(0.0, f64::max);
        let c4 = max_abl <= 0.05 + TOL;
        // Diagnostic (not gated): how far MLP-noreg moves when only its init stream changes.
        let init_spread = |k: usize| {
            rows.iter()
                .map(|r| (r.2.noreg[k] - r.2.noreg2[k]).abs())
                .fold(0.0, f64::max)
        };
        let (spread_id, spread_ood) = (init_spread(0), init_spread(1));
        let mut table = Table::new(&[
            "eta_pre",
            "seed",
            "LP id",
            "LP ood",
            "MLP-noreg id",
            "MLP-noreg ood",
            "noreg' id",
            "noreg' ood",
            "NMTune id",
            "NMTune ood",
            "SVE",
            "s1 share",
        ]);
        for (s, eta, r) in &rows {
            table.row(&[
                format!("{eta}"),
                s.to_string(),
                num(r.lp[0]),
                num(r.lp[1]),
                num(r.noreg[0]),
                num(r.noreg[1]),
                num(r.noreg2[0]),
                num(r.noreg2[1]),
                num(r.nm[0]),
                num(r.nm[1]),
                num(r.sve),
                num(r.top),
            ]);
        }
        let mut out = Outcome::new(
            &cfg,
            "(1) mean LP accuracy drops from eta_pre 0 to 0.4 by >= 2 points ID and >= 3 points OOD; \
             (2) every seed: SVE(0.4) > SVE(0) and s1 share(0.4) <= s1 share(0) + 0.001; \
             (3) every seed and noise level: NMTune - LP >= 5 points ID and >= 3 points OOD; \
             (4) |NMTune - MLP-noreg| <= 5 points (ablation reported, not gated on sign)",
        )?;
        out.pass = c1 && c2 && c3 && c4;
        out.measure("lp_drop_id", drop_id)
            .measure("lp_drop_ood", drop_ood)
            .measure("min_sve_gain", min_sve_gain)
            .measure("max_top_share_gain", max_top_gain)
            .measure("min_nmtune_minus_lp_id", min_gain_id)
            .measure("min_nmtune_minus_lp_ood", min_gain_ood)
            .measure("max_abs_nmtune_minus_noreg", max_abl)
            .measure("max_noreg_init_spread_id", spread_id)
            .measure("max_noreg_init_spread_ood", spread_ood)
            .measure("crit1_lp_drop", c1)
            .measure("crit2_spectrum", c2)
            .measure("crit3_nmtune_beats_lp", c3)
            .measure("crit4_ablation_within_5", c4);
        out.table = table;
        let series = |k: usize, f: fn(&Row) -> [f64; 2], name: &str| {
            let pts: Vec<(f64, f64)> = rows.iter().map(|r| (r.1, f(&r.2)[k])).collect();
            Series::points(name.to_string(), pts)
        };
        out.plots.push(
            Plot::new(
                "accuracy.svg",
                "Downstream accuracy vs pre-training noise (all seeds)",
                "eta_pre",
                "accuracy",
            )
            .with(series(0, |r| r.lp, "LP ID"))
            .with(series(1, |r| r.lp, "LP OOD"))
            .with(series(0, |r| r.nm, "NMTune ID"))
            .with(series(1, |r| r.nm, "NMTune OOD"))
            .with(series(0, |r| r.noreg, "MLP-noreg ID"))
            .with(series(1, |r| r.noreg, "MLP-noreg OOD")),
        );
        out.notes.push(
            "Ablation (NMTune vs MLP-noreg) is reported, not claimed: at this scale the gain over LP comes \
             mostly from the residual MLP head, and the covariance regulariser at weight 0.04 can lower OOD \
             accuracy (spec 15, criteria 3-4)."
                .into(),
        );
        Ok(out)
    }
}
