//! Golden cases of the update rules and SGD-dynamics area: fused rules with in-pass Philox noise,
//! the Optimizer with clipping + annealed noise + SGD-SaI scales, the feature-noise and
//! boundary-density samplers, and short training trajectories of the patch CNN and perceptron.

use anyhow::Result;
use noisekit::backend::{apply_update, UpdateRule};
use noisekit::dynamics::perceptron::hinge_step;
use noisekit::dynamics::{BoundaryDensity, FeatureNoise, PatchCnn};
use noisekit::rng::seq;
use noisekit::update::{
    AnnealedGaussian, GroupConfig, NoiseOrder, Optimizer, OptimizerConfig, ParamGroup, Rule,
};
use noisekit::NoiseKey;
use serde_json::{json, Value};

fn fused_rules_with_noise() -> Result<Value> {
    let n = 11;
    let grads: Vec<f32> = (0..n).map(|i| (i as f32 - 5.0) * 0.1).collect();
    let rules = [
        UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 0.01,
            nesterov: false,
            step: 2,
        },
        UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.01,
            nesterov: true,
            step: 1,
        },
        UpdateRule::AdamW {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            step: 3,
        },
        UpdateRule::SgdSai {
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 0.01,
            gsnr: 7.5,
            step: 2,
        },
    ];
    let mut out = Vec::new();
    for r in rules {
        let mut p = vec![1.0f32; n];
        let mut a = vec![0.1f32; n];
        let mut b = vec![0.2f32; n];
        apply_update(
            &r,
            &mut p,
            &grads,
            &mut [&mut a, &mut b],
            Some((NoiseKey::new(2026, 4), 0.3)),
            5,
        )?;
        out.push(json!({ "params": p, "s0": a, "s1": b }));
    }
    Ok(json!(out))
}

fn optimizer_noise_clip_groups() -> Result<Value> {
    let sizes = [6usize, 3, 1];
    let groups = vec![
        ParamGroup {
            config: GroupConfig {
                lr: 1e-2,
                weight_decay: 0.01,
                rule: Rule::SGD_SAI,
            },
            tensors: vec![0, 2],
        },
        ParamGroup {
            config: GroupConfig {
                lr: 1e-3,
                weight_decay: 0.01,
                rule: Rule::ADAMW,
            },
            tensors: vec![1],
        },
    ];
    let mut res = Vec::new();
    for order in [NoiseOrder::AfterClip, NoiseOrder::BeforeClip] {
        let cfg = OptimizerConfig {
            clip: Some(1.0),
            noise: Some(AnnealedGaussian::new(0.3, 0.55)?),
            noise_order: order,
            noise_key: NoiseKey::new(9, 1),
            ..Default::default()
        };
        let mut opt = Optimizer::new(&sizes, groups.clone(), cfg)?;
        let mut p: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.5; n]).collect();
        for t in 0..4 {
            let mut g: Vec<Vec<f32>> = sizes
                .iter()
                .map(|&n| (0..n).map(|i| ((i + t) as f32).sin()).collect())
                .collect();
            let mut ps: Vec<&mut [f32]> = p.iter_mut().map(|v| v.as_mut_slice()).collect();
            let mut gs: Vec<&mut [f32]> = g.iter_mut().map(|v| v.as_mut_slice()).collect();
            opt.step(&mut ps, &mut gs)?;
        }
        res.push(json!({ "params": p, "gsnr": opt.gsnr(), "state_bytes": opt.state_bytes() }));
    }
    Ok(json!(res))
}

fn samplers() -> Result<Value> {
    let g = FeatureNoise {
        d: 4,
        ..FeatureNoise::default()
    };
    let mut x = vec![0f32; 3 * 12];
    let mut y = vec![0f32; 3];
    g.sample(&mut seq::default_rng(5), &mut x, &mut y)?;
    let b = BoundaryDensity { d: 3, chi: 1.0 };
    let mut xb = vec![0f32; 4 * 3];
    let mut yb = vec![0f32; 4];
    b.sample(&mut seq::default_rng(6), &mut xb, &mut yb)?;
    Ok(json!({ "feature_noise": { "x": x, "y": y }, "boundary_density": { "x": xb, "y": yb } }))
}

fn trajectories() -> Result<Value> {
    // Patch CNN: 50 SGD steps on feature-noise data (d = 5, m = 2).
    let g = FeatureNoise {
        d: 5,
        ..FeatureNoise::default()
    };
    let mut rng = seq::default_rng(11);
    let n = 8;
    let mut x = vec![0f32; n * 15];
    let mut y = vec![0f32; n];
    g.sample(&mut rng, &mut x, &mut y)?;
    let model = PatchCnn {
        m: 2,
        d: 5,
        patches: 3,
        power: 2,
    };
    let mut w = vec![0f32; model.num_params()];
    seq::fill_gaussian_f32(&mut rng, 0.1, &mut w)?;
    let mut grad = vec![0f32; w.len()];
    for t in 0..50 {
        let i = t % n;
        model.square_loss_grad(&w, &x[i * 15..(i + 1) * 15], y[i], &mut grad)?;
        for (wi, gi) in w.iter_mut().zip(&grad) {
            *wi -= 0.1 * gi;
        }
    }
    // Perceptron: 100 hinge steps at T = 1 on boundary-density data.
    let b = BoundaryDensity { d: 4, chi: 1.0 };
    let mut xb = vec![0f32; 16 * 4];
    let mut yb = vec![0f32; 16];
    b.sample(&mut rng, &mut xb, &mut yb)?;
    let mut wp = vec![0f64; 4];
    for t in 0..100 {
        hinge_step(&mut wp, &xb, &yb, &[t % 16], 1.0)?;
    }
    Ok(json!({ "patch_cnn_w": w, "perceptron_w": wp }))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "optim_fused_rules_noise",
            rel_tol: 1e-6,
            produce: fused_rules_with_noise,
        },
        GoldenCase {
            name: "optim_optimizer_groups",
            rel_tol: 1e-6,
            produce: optimizer_noise_clip_groups,
        },
        GoldenCase {
            name: "optim_dynamics_samplers",
            rel_tol: 1e-6,
            produce: samplers,
        },
        GoldenCase {
            name: "optim_dynamics_trajectories",
            rel_tol: 1e-5,
            produce: trajectories,
        },
    ]
}

use super::GoldenCase;
