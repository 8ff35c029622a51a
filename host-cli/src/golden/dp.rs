//! Golden cases of the differential-privacy area: accountant curves and conversions, the inverse
//! solvers, a DP-SGD step on fixed inputs (flat, grouped, MLP ghost clipping), sampling and the
//! adaptive clip trajectory, and a few deterministic steps of the SAC hyper-policy.

use anyhow::Result;
use noisekit::accounting::{
    epsilon_for, epsilon_for_with, noise_for_target, sgm_rdp, steps_for_target, Conversion,
    RdpLedger, DP_ACCOUNTING_ORDERS,
};
use noisekit::models::loss::softmax_cross_entropy;
use noisekit::models::mlp::{Activation, Init, Mlp, MlpCache};
use noisekit::privacy::{
    dp_sgd_step, dp_sgd_step_groups, mlp_dp_gradient, poisson_sample, AdaptiveConfig,
    GhostWorkspace, NanPolicy, Policy, QuantileAdaptiveClip, SacPolicy, SacPolicyConfig,
};
use noisekit::rng::{seq, NoiseKey};
use serde_json::{json, Value};

use super::GoldenCase;

fn accountant() -> Result<Value> {
    let mut rdp = Vec::new();
    for &(q, z) in &[(0.01, 1.1), (0.1, 0.8), (0.004, 1.0), (0.5, 3.0)] {
        for &a in &[1.5, 2.0, 2.5, 8.0, 10.5, 32.0, 256.0] {
            rdp.push(json!({"q": q, "sigma": z, "order": a, "rdp": sgm_rdp(q, z, a)?}));
        }
    }
    let mut l = RdpLedger::new();
    l.compose(0.01, 0.8, 100)?;
    l.compose(0.02, 1.5, 200)?;
    l.compose(0.005, 1.2, 700)?;
    let imp = l.epsilon(1e-5)?;
    let cla = l.epsilon_with(1e-5, Conversion::Classic)?;
    let d = l.delta(2.0)?;
    let g = &DP_ACCOUNTING_ORDERS;
    let e1 = epsilon_for(0.01, 1.1, 10_000, 1e-5, g)?;
    let e2 = epsilon_for_with(0.01, 1.1, 10_000, 1e-5, g, Conversion::Classic)?;
    Ok(json!({
        "rdp": rdp,
        "ledger": {"improved": [imp.value, imp.order], "classic": [cla.value, cla.order],
                   "delta_at_eps_2": [d.value, d.order]},
        "eps_q0.01_z1.1_T1e4": {"improved": [e1.value, e1.order], "classic": [e2.value, e2.order]},
        "sigma_eps3_q0.01_T1000": noise_for_target(3.0, 1e-5, 0.01, 1000, g)?,
        "steps_eps2_q0.01_z1": steps_for_target(2.0, 1e-5, 0.01, 1.0, g)?,
    }))
}

fn dp_step() -> Result<Value> {
    let mut rng = seq::default_rng(2026);
    let (rows, p) = (5usize, 7usize);
    let g: Vec<f32> = (0..rows * p)
        .map(|_| (3.0 * seq::normal(&mut rng)) as f32)
        .collect();
    let key = NoiseKey::new(77, 3);
    let mut flat = vec![0f32; p];
    let st = dp_sgd_step(&g, rows, 2.0, 1.1, 4.0, NanPolicy::Error, &key, &mut flat)?;
    let mut grouped = vec![0f32; p];
    dp_sgd_step_groups(
        &g,
        rows,
        &[4, 3],
        &[1.0, 3.0],
        &[0.9, 1.3],
        4.0,
        NanPolicy::Error,
        &key,
        &mut grouped,
    )?;
    let mut idx = vec![0u32; 64];
    let b = poisson_sample(&mut seq::default_rng(5), 500, 0.05, &mut idx)?;
    Ok(json!({"flat": flat, "clipped": st.clipped, "grouped": grouped, "poisson_batch": &idx[..b]}))
}

fn mlp_ghost() -> Result<Value> {
    let mut rng = seq::default_rng(11);
    let mlp = Mlp::new(
        &[6, 5, 3],
        Activation::Relu,
        Init::Normal { std: 0.5 },
        &mut rng,
    )?;
    let batch = 8;
    let x: Vec<f32> = (0..batch * 6)
        .map(|_| seq::normal(&mut rng) as f32)
        .collect();
    let y: Vec<usize> = (0..batch).map(|i| i % 3).collect();
    let mut c = MlpCache::default();
    let logits = mlp.forward(&x, batch, &mut c)?.to_vec();
    let mut d = vec![0f32; batch * 3];
    softmax_cross_entropy(&logits, &y, 3, &mut d)?;
    d.iter_mut().for_each(|v| *v *= batch as f32);
    let mut scratch = vec![0f32; mlp.params.len()];
    mlp.backward(&mut c, &d, &mut scratch)?;
    let mut ws = GhostWorkspace::default();
    let mut g = vec![0f32; mlp.params.len()];
    mlp_dp_gradient(
        &mlp,
        &c,
        0.7,
        1.0,
        8.0,
        NanPolicy::Error,
        &NoiseKey::new(1, 9),
        &mut ws,
        &mut g,
    )?;
    Ok(json!({"grad": g, "sq_norms": ws.sq_norms}))
}

fn adaptive_clip() -> Result<Value> {
    let mut rng = seq::default_rng(3);
    let mut a = QuantileAdaptiveClip::new(
        10.0,
        1.0,
        50.0,
        AdaptiveConfig::defaults(50.0),
        NoiseKey::new(4, 4),
    )?;
    let mut traj = Vec::new();
    for _ in 0..20 {
        let norms: Vec<f32> = (0..50)
            .map(|_| (1.0 + seq::normal(&mut rng).abs()) as f32)
            .collect();
        a.update(&norms);
        traj.push(a.clip());
    }
    Ok(json!({"clip": traj, "z_delta": a.z_delta()}))
}

/// RLDP's SAC hyper-policy on a scripted feature stream: actions, rewards and the losses of
/// each update (seeded agent, batch 4, 2 updates per action after 4 transitions).
fn sac_policy() -> Result<Value> {
    let mut cfg = SacPolicyConfig::new(1, 2026);
    cfg.sac.hidden = 8;
    cfg.sac.batch = 4;
    cfg.sac.lr_actor = 1e-2;
    cfg.sac.lr_critic = 1e-2;
    cfg.sac.lr_alpha = 1e-2;
    cfg.warmup = 4;
    let mut pol = SacPolicy::new(cfg)?;
    let mut actions = Vec::new();
    let mut losses = Vec::new();
    let mut a = [0.0; 2];
    for k in 0..8 {
        let t = k as f64 / 8.0;
        let features = [t, 0.1 * k as f64, 1.0 / (1.0 + t), 0.7 - 0.03 * k as f64];
        pol.action(&features, &mut a)?;
        actions.push(a.to_vec());
        let l = pol.last_losses();
        losses.push(
            json!({"critic1": l.critic1, "critic2": l.critic2, "actor": l.actor,
                           "alpha": l.alpha, "entropy": l.entropy}),
        );
    }
    Ok(
        json!({"actions": actions, "rewards": pol.rewards(), "losses": losses,
              "updates": pol.updates()}),
    )
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "dp_accountant",
            rel_tol: 1e-12,
            produce: accountant,
        },
        GoldenCase {
            name: "dp_sgd_step",
            rel_tol: 1e-6,
            produce: dp_step,
        },
        GoldenCase {
            name: "dp_mlp_ghost",
            rel_tol: 1e-5,
            produce: mlp_ghost,
        },
        GoldenCase {
            name: "dp_adaptive_clip",
            rel_tol: 1e-12,
            produce: adaptive_clip,
        },
        GoldenCase {
            name: "dp_sac_policy",
            rel_tol: 1e-9,
            produce: sac_policy,
        },
    ]
}
