//! Repro `lota` (spec 20): LOTA bit-plane noise features (Wang et al., ICCV 2025, arXiv 2510.14230)
//! on a synthetic real-vs-generated benchmark.
//!
//! No GenImage (no downloads): "real" images are a random scene plus Gaussian sensor noise;
//! "generated" images are the same law of scene rendered at half resolution with little noise and
//! bilinearly upsampled 2x (structured low bit planes). Each image goes through the LOTA pipeline
//! (3 low bit planes, 36-scaling, maximum-gradient patch selection over (H/32)^2 random 32 x 32
//! crops), a 10-value feature vector is taken from the patch, and a standardised L2 logistic head
//! (C = 100) is trained on the train half and scored on the test half. Variants: random patch,
//! thresholding, raw pixels (8 features each, as in the spec's table). Extraction time (bit planes
//! + normalisation + MGPS) is measured per 128 x 128 image and per 256 x 256 image (64 crops).

use std::time::Instant;

use anyhow::{bail, Result};
use noisekit::bitplane::features::{patch_features, N_FEATURES};
use noisekit::bitplane::logistic::LogisticHead;
use noisekit::bitplane::mgps::{code_candidates, mgps, PatchMode, Strategy};
use noisekit::bitplane::planes::noisy_image;
use noisekit::bitplane::{BitNorm, Image, ImageMut};
use noisekit::rng::seq;
use noisekit::rng::DefaultRng;
use serde::{Deserialize, Serialize};

use crate::framework::table::num;
use crate::framework::{Ctx, Outcome, Plot, Repro, Series, Table};

/// The `lota` reproduction.
pub struct Lota;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// Image side (pixels).
    size: usize,
    /// Training images (alternating labels).
    train: usize,
    /// Test images.
    test: usize,
    /// Patch side.
    patch: usize,
    /// Harder variant: real sigma ~ U(0.8, 4), generated sigma ~ U(0, 1.2).
    hard: bool,
    /// Inverse L2 strength of the logistic head (scikit-learn's C).
    c: f64,
    /// Images timed at 256 x 256.
    timing_256: usize,
}

const C: usize = 3;

fn u(rng: &mut DefaultRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * seq::uniform(rng)
}

/// The scene of spec 20 evaluated at pixel `(row, col)` of an `s x s` grid, for all channels.
struct Scene {
    base: [f64; C],
    /// (amplitude, fx, fy, phase) per channel.
    waves: [[(f64, f64, f64, f64); 4]; C],
    /// (a, b, c, amplitude, per-channel factor).
    edges: [(f64, f64, f64, f64, [f64; C]); 6],
}

impl Scene {
    fn draw(rng: &mut DefaultRng, s: usize) -> Self {
        let base = std::array::from_fn(|_| 100.0 + 40.0 * u(rng, -1.0, 1.0));
        let waves = std::array::from_fn(|_| {
            std::array::from_fn(|_| {
                (
                    u(rng, 5.0, 30.0),
                    u(rng, 0.5, 4.0),
                    u(rng, 0.5, 4.0),
                    u(rng, 0.0, 2.0 * std::f64::consts::PI),
                )
            })
        });
        let half = s as f64 / 2.0;
        let edges = std::array::from_fn(|_| {
            (
                seq::normal(rng),
                seq::normal(rng),
                u(rng, -half, half),
                u(rng, 10.0, 40.0),
                std::array::from_fn(|_| u(rng, 0.5, 1.0)),
            )
        });
        Scene { base, waves, edges }
    }

    /// Renders the scene on the pixel grid `rows x cols` where grid index `(i, j)` is pixel
    /// `(step * i, step * j)` of the `s x s` image; adds N(0, sigma^2) noise; output f64 [i][j][c].
    fn render(&self, rng: &mut DefaultRng, s: usize, step: usize, sigma: f64) -> Vec<f64> {
        let n = s / step;
        let mut out = vec![0.0; n * n * C];
        let two_pi = 2.0 * std::f64::consts::PI;
        for c in 0..C {
            // Separable sinusoids: sin(A + B) with A from x, B from y.
            let mut sx = vec![[0.0; 4]; n];
            let mut cx = vec![[0.0; 4]; n];
            let mut sy = vec![[0.0; 4]; n];
            let mut cy = vec![[0.0; 4]; n];
            for (k, &(_, fx, fy, ph)) in self.waves[c].iter().enumerate() {
                for i in 0..n {
                    let p = (step * i) as f64 / s as f64;
                    let (a, b) = (two_pi * fx * p + ph, two_pi * fy * p);
                    sx[i][k] = a.sin();
                    cx[i][k] = a.cos();
                    sy[i][k] = b.sin();
                    cy[i][k] = b.cos();
                }
            }
            for i in 0..n {
                for j in 0..n {
                    let mut v = self.base[c];
                    for (k, w) in self.waves[c].iter().enumerate() {
                        // x = column, y = row.
                        v += w.0 * (sx[j][k] * cy[i][k] + cx[j][k] * sy[i][k]);
                    }
                    out[(i * n + j) * C + c] = v;
                }
            }
        }
        let half = s as f64 / 2.0;
        for i in 0..n {
            for j in 0..n {
                let (y, x) = ((step * i) as f64, (step * j) as f64);
                for &(a, b, cc, amp, fac) in &self.edges {
                    if a * (x - half) + b * (y - half) > cc {
                        for c in 0..C {
                            out[(i * n + j) * C + c] += amp * fac[c];
                        }
                    }
                }
                for c in 0..C {
                    out[(i * n + j) * C + c] += sigma * seq::normal(rng);
                }
            }
        }
        out
    }
}

fn to_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Bilinear 2x upsampling (separable), source position `clamp((i + 0.5) / 2 - 0.5, 0, n - 1)`.
fn upsample2(src: &[f64], n: usize) -> Vec<f64> {
    let m = 2 * n;
    let pos = |i: usize| {
        let p = ((i as f64 + 0.5) / 2.0 - 0.5).clamp(0.0, (n - 1) as f64);
        let i0 = p.floor() as usize;
        (i0, (i0 + 1).min(n - 1), p - i0 as f64)
    };
    let mut tmp = vec![0.0; n * m * C];
    for i in 0..n {
        for j in 0..m {
            let (j0, j1, w) = pos(j);
            for c in 0..C {
                tmp[(i * m + j) * C + c] =
                    (1.0 - w) * src[(i * n + j0) * C + c] + w * src[(i * n + j1) * C + c];
            }
        }
    }
    let mut out = vec![0.0; m * m * C];
    for i in 0..m {
        let (i0, i1, w) = pos(i);
        for j in 0..m {
            for c in 0..C {
                out[(i * m + j) * C + c] =
                    (1.0 - w) * tmp[(i0 * m + j) * C + c] + w * tmp[(i1 * m + j) * C + c];
            }
        }
    }
    out
}

/// One labelled image (`true` = generated).
fn make_image(rng: &mut DefaultRng, s: usize, generated: bool, hard: bool) -> Result<Vec<u8>> {
    if s < 4 || !s.is_multiple_of(2) {
        bail!("config: size must be even and >= 4");
    }
    let scene = Scene::draw(rng, s);
    let px = if generated {
        let sigma = if hard {
            u(rng, 0.0, 1.2)
        } else {
            u(rng, 0.0, 0.5)
        };
        let low = scene.render(rng, s, 2, sigma);
        upsample2(&low, s / 2)
    } else {
        let sigma = if hard {
            u(rng, 0.8, 4.0)
        } else {
            u(rng, 1.5, 4.0)
        };
        scene.render(rng, s, 1, sigma)
    };
    Ok(px.into_iter().map(to_u8).collect())
}

#[derive(Clone, Copy)]
struct Variant {
    name: &'static str,
    norm: BitNorm,
    mode: PatchMode,
    n_features: usize,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "LOTA: scaling + max patch (10 features)",
        norm: BitNorm::Scaling { exact_255: false },
        mode: PatchMode::Max,
        n_features: 10,
    },
    Variant {
        name: "scaling + random patch (8 features)",
        norm: BitNorm::Scaling { exact_255: false },
        mode: PatchMode::Random,
        n_features: 8,
    },
    Variant {
        name: "thresholding + max patch (8 features)",
        norm: BitNorm::Threshold { tau: 0 },
        mode: PatchMode::Max,
        n_features: 8,
    },
    Variant {
        name: "raw 8-bit + max patch (8 features)",
        norm: BitNorm::Raw,
        mode: PatchMode::Max,
        n_features: 8,
    },
];

/// Noisy image + MGPS for one image; returns the features and the (noisy) buffer.
fn extract(
    img: &[u8],
    s: usize,
    p: usize,
    v: &Variant,
    rng: &mut DefaultRng,
    noisy: &mut [u8],
) -> Result<[f64; N_FEATURES]> {
    let im = Image::new(img, s, s, C)?;
    let mut o = ImageMut::new(noisy, s, s, C)?;
    noisy_image(&im, 3, v.norm, &mut o)?;
    let n = Image::new(noisy, s, s, C)?;
    let sel = mgps(
        &n,
        p,
        Strategy::RandomCrops {
            n: code_candidates(s, p),
        },
        v.mode,
        rng,
    )?;
    Ok(patch_features(&n, sel.y, sel.x, p)?)
}

/// Median (robust to the process being descheduled on a shared machine).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Repro for Lota {
    fn name(&self) -> &'static str {
        "lota"
    }
    fn spec(&self) -> &'static str {
        "20"
    }
    fn title(&self) -> &'static str {
        "Bit-plane noise features separate real from generated images"
    }
    fn run(&self, ctx: &Ctx) -> Result<Outcome> {
        let cfg = ctx.config(Config {
            size: 128,
            train: if ctx.quick { 1000 } else { 3000 },
            test: if ctx.quick { 1000 } else { 3000 },
            patch: 32,
            hard: false,
            c: 100.0,
            timing_256: if ctx.quick { 50 } else { 200 },
        })?;
        if cfg.train < 4
            || cfg.test < 2
            || cfg.patch == 0
            || cfg.patch > cfg.size
            || cfg.timing_256 == 0
        {
            bail!("config: train >= 4, test >= 2, 1 <= patch <= size, timing_256 >= 1");
        }
        if !(cfg.c.is_finite() && cfg.c > 0.0) {
            bail!("config: c must be > 0");
        }
        let s = cfg.size;
        let total = cfg.train + cfg.test;
        let mut rng = ctx.rng(0);
        let pb = ctx.progress(total as u64, "images");
        let mut images = Vec::with_capacity(total);
        for i in 0..total {
            images.push(make_image(&mut rng, s, i % 2 == 1, cfg.hard)?);
            pb.inc(1);
        }
        pb.finish_and_clear();
        let labels: Vec<bool> = (0..total).map(|i| i % 2 == 1).collect();
        let mut table = Table::new(&[
            "variant",
            "held-out accuracy",
            "extraction ms / image (128, median)",
        ]);
        let mut accs = Vec::new();
        let mut lota_ms = f64::NAN;
        let mut noisy = vec![0u8; s * s * C];
        for (vi, v) in VARIANTS.iter().enumerate() {
            let mut crng = ctx.rng(10 + vi as u64);
            let mut feats = Vec::with_capacity(total * v.n_features);
            let mut times = Vec::with_capacity(total);
            for img in &images {
                let t0 = Instant::now();
                let f = extract(img, s, cfg.patch, v, &mut crng, &mut noisy)?;
                times.push(t0.elapsed().as_secs_f64());
                feats.extend_from_slice(&f[..v.n_features]);
            }
            let d = v.n_features;
            let head = LogisticHead::fit(&feats[..cfg.train * d], d, &labels[..cfg.train], cfg.c)?;
            let mut correct = 0usize;
            for (row, &y) in feats[cfg.train * d..]
                .chunks_exact(d)
                .zip(&labels[cfg.train..])
            {
                if (head.predict_proba(row)? > 0.5) == y {
                    correct += 1;
                }
            }
            let acc = correct as f64 / cfg.test as f64;
            let ms = median(&mut times) * 1e3;
            if vi == 0 {
                lota_ms = ms;
            }
            accs.push(acc);
            table.row(&[v.name.to_string(), num(acc), num(ms)]);
        }
        // Timing at 256 x 256 (64 crops), LOTA variant.
        let mut trng = ctx.rng(20);
        let big: Vec<Vec<u8>> = (0..cfg.timing_256)
            .map(|i| make_image(&mut trng, 256, i % 2 == 1, cfg.hard))
            .collect::<Result<_>>()?;
        let mut noisy256 = vec![0u8; 256 * 256 * C];
        let mut times = Vec::with_capacity(big.len());
        for img in &big {
            let t0 = Instant::now();
            extract(img, 256, cfg.patch, &VARIANTS[0], &mut trng, &mut noisy256)?;
            times.push(t0.elapsed().as_secs_f64());
        }
        let ms256 = median(&mut times) * 1e3;
        table.row(&[
            "LOTA extraction at 256 x 256 (64 crops)".to_string(),
            "-".to_string(),
            num(ms256),
        ]);
        let pass = accs[0] >= 0.88 && lota_ms <= 2.0 && ms256 <= 5.0;
        let mut out = Outcome::new(
            &cfg,
            "LOTA (scaling + max patch, 10 features) held-out accuracy >= 0.88, extraction <= 2 ms per 128 x 128 image \
             and <= 5 ms per 256 x 256 image (median per image, single thread); other variants reported only",
        )?;
        out.pass = pass;
        out.measure("accuracy_lota", accs[0])
            .measure("accuracy_random_patch", accs[1])
            .measure("accuracy_threshold", accs[2])
            .measure("accuracy_raw", accs[3])
            .measure("extract_ms_128", lota_ms)
            .measure("extract_ms_256", ms256);
        out.table = table;
        out.plots.push(
            Plot::new(
                "accuracy.svg",
                "Held-out accuracy by variant (0 = LOTA, 1 = random patch, 2 = threshold, 3 = raw)",
                "variant",
                "accuracy",
            )
            .with(Series::points(
                "accuracy",
                accs.iter()
                    .enumerate()
                    .map(|(i, &a)| (i as f64, a))
                    .collect(),
            ))
            .with(Series::line(
                "criterion 0.88",
                vec![(0.0, 0.88), (3.0, 0.88)],
            )),
        );
        out.notes.push(
            "The raw-pixel baseline is not asserted: on synthetic data a raw lag-ratio feature also separates the classes, \
             so this repro checks the pipeline and its speed, not LOTA's superiority."
                .to_string(),
        );
        Ok(out)
    }
}
