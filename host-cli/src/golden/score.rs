//! Golden cases of the score area (spec 07, 10, 17, 18): frozen outputs of the core's score,
//! denoising and diffusion-noise functions for fixed inputs and seeds.

use anyhow::Result;
use noisekit::rng::{bulk, seq, NoiseKey};
use noisekit::score::ambient_em::{fit_em, MixtureParams, NoisyData};
use noisekit::score::gmm::Gmm;
use noisekit::score::golden::{ddim_timesteps, scaled_linear_alphabar, ClassMixture};
use noisekit::score::metrics::{psnr, ssim};
use noisekit::score::noising::ou_forward_batch;
use noisekit::score::prior_score::LevelPrior;
use noisekit::score::tweedie::{denoise, NoiseModel};
use noisekit::score::two_layer::{GdWork, TwoLayerNet};
use serde_json::{json, Value};

use super::GoldenCase;

fn gmm_ou() -> Result<Value> {
    let g = Gmm::new(&[-2.0, 2.0], &[0.5, 0.5], 0.5)?;
    let xs = [-3.0, -0.7, 0.0, 0.4, 1.9];
    let ts = [0.05, 0.3, 0.9, 1.5, 3.0];
    let (mut score, mut post) = (Vec::new(), Vec::new());
    for (&x, &t) in xs.iter().zip(&ts) {
        let (mut s, mut m) = ([0.0], [0.0]);
        g.score_and_mean(&[x], t, &mut s, &mut m)?;
        score.push(s[0]);
        post.push(m[0]);
    }
    let mut z = vec![0.0; 5];
    bulk::fill_normal_f64(&NoiseKey::new(7, 70), &mut z);
    let mut xt = vec![0.0; 5];
    ou_forward_batch(&xs, &ts, &z, &mut xt)?;
    Ok(json!({ "score": score, "post_mean": post, "ou_forward": xt }))
}

fn two_layer_gd() -> Result<Value> {
    let mut rng = seq::default_rng(2024);
    let mut net = TwoLayerNet::new_antisymmetric(&mut rng, 8, 3, 1)?;
    let u = [0.5, 0.2, 1.0, -0.5, 0.8, 1.0, 0.1, 1.2, 1.0, -1.1, 0.4, 1.0];
    let x0 = [1.5, -2.0, 0.5, -1.0];
    let mut work = GdWork::default();
    let mut losses = Vec::new();
    for _ in 0..20 {
        losses.push(net.gd_step(&u, &x0, 1.0, &mut work)?);
    }
    let mut f = [0.0; 4];
    net.forward(&u, &mut f)?;
    Ok(json!({ "losses": losses, "w_first": &net.w[..6], "f": f }))
}

fn tweedie_prior() -> Result<Value> {
    let lv = [0.15, 0.4, 0.65, 0.9];
    let wt = [0.55, 0.15, 0.1, 0.2];
    let p = LevelPrior::new(&lv, &wt)?;
    let y = [0.05, 0.17, 0.38, 0.52, 0.71, 0.93];
    let mut out = serde_json::Map::new();
    for (name, model) in [
        ("gaussian", NoiseModel::Gaussian(0.1)),
        ("poisson", NoiseModel::Poisson(0.01)),
        ("gamma", NoiseModel::Gamma(50.0)),
    ] {
        let mut s = vec![0.0; y.len()];
        p.score_image(&y, model, &mut s)?;
        let mut x = vec![0.0; y.len()];
        let bad = denoise(model, &y, &s, &mut x)?;
        out.insert(
            name.into(),
            json!({ "score": s, "x_hat": x, "invalid": bad }),
        );
    }
    Ok(Value::Object(out))
}

fn golden_noise_toy() -> Result<Value> {
    let means = [1.0, -1.0, 0.5, 0.0, -1.0, 1.0, 0.0, 0.5];
    let mix = ClassMixture::new(&means, &[0.5, 0.5], 0.5, 0.3)?;
    let mut ts = [0usize; 5];
    ddim_timesteps(&mut ts)?;
    let abars: Vec<f64> = ts
        .iter()
        .map(|&t| scaled_linear_alphabar(t))
        .collect::<noisekit::Result<_>>()?;
    let mut x = vec![0.0; 4];
    bulk::fill_normal_f64(&NoiseKey::new(11, 3), &mut x);
    let (mut eps, mut tmp, mut gold) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4]);
    mix.re_denoise(&x, 1, abars[0], abars[1], 5.5, 1.0, &mut eps, &mut gold)?;
    let mut s = x.clone();
    mix.sample(&mut s, 1, 2.0, &abars, &mut eps, &mut tmp)?;
    let mut sg = gold.clone();
    mix.sample(&mut sg, 1, 2.0, &abars, &mut eps, &mut tmp)?;
    Ok(json!({
        "x_T": x, "golden": gold, "sample": s, "sample_golden": sg,
        "alignment": [mix.alignment(&s, 1)?, mix.alignment(&sg, 1)?],
    }))
}

fn ambient_em() -> Result<Value> {
    let mut rng = seq::default_rng(17);
    let n = 200;
    let mut x = vec![0.0; 2 * n];
    let mut s2 = vec![0.0; n];
    for i in 0..n {
        let c = if i % 2 == 0 { -2.0 } else { 2.0 };
        let noisy = i >= 40;
        s2[i] = if noisy { 1.0 } else { 0.0 };
        let sd = if noisy { 2f64.sqrt() } else { 1.0 };
        x[2 * i] = c + sd * seq::normal(&mut rng);
        x[2 * i + 1] = sd * seq::normal(&mut rng);
    }
    let init = MixtureParams {
        means: vec![-1.0, 0.5, 1.0, -0.5],
        v0: 1.0,
        pi: vec![0.5, 0.5],
    };
    let (p, trace, _) = fit_em(
        &NoisyData {
            x: &x,
            s2: &s2,
            d: 2,
        },
        init,
        10,
        0.0,
        false,
    )?;
    Ok(json!({ "means": p.means, "v0": p.v0, "loglik": trace }))
}

fn metrics() -> Result<Value> {
    let (h, w) = (12usize, 10usize);
    let x: Vec<f64> = (0..h * w)
        .map(|i| ((i * 37 % 101) as f64) / 100.0)
        .collect();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| (v + 0.05 * ((i % 7) as f64 - 3.0)).clamp(0.0, 1.0))
        .collect();
    Ok(json!({ "psnr": psnr(&y, &x)?, "ssim": ssim(&y, &x, h, w)? }))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "score_gmm_ou",
            rel_tol: 1e-12,
            produce: gmm_ou,
        },
        GoldenCase {
            name: "score_two_layer_gd",
            rel_tol: 1e-12,
            produce: two_layer_gd,
        },
        GoldenCase {
            name: "score_tweedie_prior",
            rel_tol: 1e-12,
            produce: tweedie_prior,
        },
        GoldenCase {
            name: "score_golden_noise_toy",
            rel_tol: 1e-12,
            produce: golden_noise_toy,
        },
        GoldenCase {
            name: "score_ambient_em",
            rel_tol: 1e-12,
            produce: ambient_em,
        },
        GoldenCase {
            name: "score_metrics",
            rel_tol: 1e-12,
            produce: metrics,
        },
    ]
}
