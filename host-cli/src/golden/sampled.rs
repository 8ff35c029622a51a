//! Golden cases of the sampled and mixed gradient estimators (WTA-CRS, BVPO, SCO/NCE, SSO).

use anyhow::Result;
use noisekit::backend::{Backend, CpuBackend};
use noisekit::rng::{default_rng, seq};
use noisekit::sampled::bvpo::{alpha_star, plugin_alpha};
use noisekit::sampled::compositional::{nce_loss_and_grad, sco_gradient, ScoState};
use noisekit::sampled::crs::{self, PlanOptions, Winners};
use noisekit::sampled::latent_trace::LatentTraceModel;
use noisekit::sampled::sso::{linear_forward, linear_inner_gd, surrogate_value, TargetLoss};
use serde_json::{json, Value};

use super::GoldenCase;

/// Plans (CRS, adaptive WTA, fixed winners) on a seeded probability vector.
fn crs_plans() -> Result<Value> {
    let mut rng = default_rng(2026);
    let m = 32;
    let w: Vec<f64> = (0..m)
        .map(|_| (1.5 * seq::normal(&mut rng)).exp())
        .collect();
    let mut p = vec![0.0; m];
    crs::probabilities(&w, None, &mut p)?;
    let mut out = serde_json::Map::new();
    for (name, winners) in [
        ("crs", Winners::Fixed(0)),
        ("adaptive", Winners::Adaptive),
        ("fixed3", Winners::Fixed(3)),
    ] {
        let (mut order, mut cdf) = (vec![0u32; m], vec![0.0; m]);
        let (mut idx, mut scale) = (vec![0u32; 8], vec![0f32; 8]);
        let pl = crs::plan(
            &mut rng,
            &p,
            8,
            PlanOptions {
                winners,
                tail_cutoff: None,
            },
            &mut order,
            &mut cdf,
            &mut idx,
            &mut scale,
        )?;
        out.insert(
            name.into(),
            json!({ "winners": pl.winners, "p_c": pl.p_c, "idx": &idx[..pl.len], "scale": &scale[..pl.len] }),
        );
    }
    Ok(Value::Object(out))
}

/// A WTA-CRS estimate of a seeded 6 x 40 x 5 product through the CPU backend, and its exact variance.
fn wta_matmul() -> Result<Value> {
    let (n, m, q) = (6, 40, 5);
    let mut rng = default_rng(7);
    let a: Vec<f32> = (0..n * m)
        .map(|i| seq::normal_f32(&mut rng) * if i % m < 3 { 5.0 } else { 1.0 })
        .collect();
    let b: Vec<f32> = (0..m * q).map(|_| seq::normal_f32(&mut rng)).collect();
    let an: Vec<f64> = (0..m)
        .map(|i| {
            (0..n)
                .map(|r| (a[r * m + i] as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let bn: Vec<f64> = (0..m)
        .map(|i| {
            (0..q)
                .map(|c| (b[i * q + c] as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let mut p = vec![0.0; m];
    crs::probabilities(&an, Some(&bn), &mut p)?;
    let k = 10;
    let (mut order, mut cdf) = (vec![0u32; m], vec![0.0; m]);
    let (mut idx, mut scale) = (vec![0u32; k], vec![0f32; k]);
    let pl = crs::plan(
        &mut rng,
        &p,
        k,
        PlanOptions::default(),
        &mut order,
        &mut cdf,
        &mut idx,
        &mut scale,
    )?;
    let be = CpuBackend::new();
    let (ab, bb) = (be.upload(&a)?, be.upload(&b)?);
    let mut a_sub = be.alloc::<f32>(n * pl.len)?;
    let mut b_sub = be.alloc::<f32>(pl.len * q)?;
    let mut out = be.alloc::<f32>(n * q)?;
    crs::sampled_matmul(
        &be,
        &ab,
        &bb,
        n,
        m,
        q,
        &idx[..pl.len],
        &scale[..pl.len],
        &vec![1.0; k],
        &mut a_sub,
        &mut b_sub,
        &mut out,
    )?;
    let mut exact = vec![0f64; n * q];
    for r in 0..n {
        for i in 0..m {
            for c in 0..q {
                exact[r * q + c] += a[r * m + i] as f64 * b[i * q + c] as f64;
            }
        }
    }
    let ab2: f64 = exact.iter().map(|v| v * v).sum();
    let v_crs = crs::crs_variance(&an, &bn, &p, k, ab2)?;
    Ok(json!({ "winners": pl.winners, "estimate": out, "crs_variance": v_crs }))
}

/// BVPO: the spec's latent-trace model moments, alpha*, and the plug-in example.
fn bvpo() -> Result<Value> {
    let m = LatentTraceModel::new(3, 2, vec![0.0, 0.2, 1.0, -0.5, -0.3, 0.8], 1.0, 0, 1)?;
    let mo = m.exact_moments()?;
    let st = alpha_star(mo.a, mo.b, mo.c)?;
    let pl = plugin_alpha(
        &[1.0, 0.0, 3.0, 2.0, 2.0, -1.0, 2.0, 3.0],
        &[0.5, 0.5, 1.0, 1.5, 0.8, 0.2, 0.7, 0.8],
        4,
        2,
    )?;
    let mut rng = default_rng(5);
    let draws: Vec<Vec<f64>> = (0..3)
        .map(|_| m.sample_trace(&mut rng))
        .collect::<noisekit::Result<_>>()?;
    Ok(json!({
        "g": mo.g, "mean_t": mo.mean_t, "a": mo.a, "b": mo.b, "c": mo.c,
        "alpha_star": st.raw, "mse_star": st.mse, "plugin_alpha": pl.alpha, "trace_draws": draws,
    }))
}

/// SCO step and NCE loss on the spec's 1-D Gaussian example.
fn sco_nce() -> Result<Value> {
    let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let mu = 0.5;
    let data = [1.0, 2.0];
    let noise = [-0.5, 0.3, 1.2];
    let f = |x: f64| -0.5 * (x - mu) * (x - mu);
    let lq = |x: f64| -0.5 * x * x - c;
    let w: Vec<f64> = noise.iter().map(|&x| f(x) - lq(x)).collect();
    let gn: Vec<f64> = noise.iter().map(|x| x - mu).collect();
    let gd: Vec<f64> = data.iter().map(|x| x - mu).collect();
    let mut st = ScoState {
        log_u: Some(2.5f64.ln()),
    };
    let mut g = [0.0];
    let r = sco_gradient(&mut st, 0.1, &[1.0], &w, &gn, &mut g)?;
    let mut gn_out = [0.0];
    let fd: Vec<f64> = data.iter().map(|&x| f(x)).collect();
    let qd: Vec<f64> = data.iter().map(|&x| lq(x)).collect();
    let fnz: Vec<f64> = noise.iter().map(|&x| f(x)).collect();
    let qn: Vec<f64> = noise.iter().map(|&x| lq(x)).collect();
    let nce = nce_loss_and_grad(&fd, &qd, &fnz, &qn, &gd, &gn, c, 1.0, &mut gn_out)?;
    Ok(json!({
        "sco_grad": g[0], "log_u": r.log_u, "log_ghat": r.log_ghat,
        "nce_loss": nce.loss, "nce_dmu": gn_out[0], "nce_dc": nce.dc,
    }))
}

/// SSO: surrogate values and 5 inner GD steps on the spec's 3 x 2 linear example.
fn sso() -> Result<Value> {
    let x = [1.0, 0.0, 0.0, 2.0, 1.0, 1.0];
    let mut out = serde_json::Map::new();
    for (name, loss, y) in [
        ("squared", TargetLoss::Squared, [1.0, -1.0, 2.0]),
        ("logistic", TargetLoss::Logistic, [1.0, -1.0, 1.0]),
    ] {
        let mut theta = [0.5, 0.5];
        let mut z = [0.0; 3];
        linear_forward(&x, 2, &theta, &mut z)?;
        let mut dz = [0.0; 3];
        let h = loss.mean_and_derivs(&z, &y, &mut dz)?;
        let eta = 1.0 / loss.smoothness();
        let mut f = [0.0; 3];
        linear_forward(&x, 2, &[1.0, -0.5], &mut f)?;
        let probe = surrogate_value(h, &z, &dz, &f, eta)?;
        let (mut fb, mut rb, mut g, mut best) = ([0.0; 3], [0.0; 3], [0.0; 2], [0.0; 2]);
        let rep = linear_inner_gd(
            &x, 2, h, &z, &dz, eta, 5, 0.2, &mut theta, &mut fb, &mut rb, &mut g, &mut best,
        )?;
        out.insert(
            name.into(),
            json!({ "loss": h, "probe": probe, "theta": theta, "end": rep.end }),
        );
    }
    Ok(Value::Object(out))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "sampled_crs_plans",
            rel_tol: 1e-12,
            produce: crs_plans,
        },
        GoldenCase {
            name: "sampled_wta_matmul",
            rel_tol: 1e-5,
            produce: wta_matmul,
        },
        GoldenCase {
            name: "sampled_bvpo",
            rel_tol: 1e-12,
            produce: bvpo,
        },
        GoldenCase {
            name: "sampled_sco_nce",
            rel_tol: 1e-12,
            produce: sco_nce,
        },
        GoldenCase {
            name: "sampled_sso",
            rel_tol: 1e-12,
            produce: sso,
        },
    ]
}
