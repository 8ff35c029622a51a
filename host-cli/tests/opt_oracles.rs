//! The fused update rules against torch.optim trajectories (fixtures/oracle/optim_torch.json,
//! produced by fixtures/oracle/optim_torch.py): 100 steps replaying the recorded gradients, final
//! parameters within 1e-6 relative (of max(|p|, 1)), via `apply_update`, the threaded driver and the
//! `Optimizer` object.

use noisekit::backend::{apply_update, UpdateRule};
use noisekit::update::{
    apply_update_threads, GroupConfig, GsnrPolicy, Optimizer, OptimizerConfig, Rule,
};
use serde_json::Value;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/oracle/optim_torch.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn h(c: &Value, k: &str) -> f32 {
    c["hyper"].get(k).and_then(Value::as_f64).unwrap_or(1e-8) as f32
}

fn rule_of(c: &Value, step: u64, gsnr: f32) -> UpdateRule {
    match c["hyper"]["kind"].as_str().unwrap() {
        "sgd" => UpdateRule::Sgd {
            lr: h(c, "lr"),
            momentum: h(c, "momentum"),
            dampening: h(c, "dampening"),
            weight_decay: h(c, "weight_decay"),
            nesterov: c["hyper"]["nesterov"].as_bool().unwrap(),
            step,
        },
        "adamw" => UpdateRule::AdamW {
            lr: h(c, "lr"),
            beta1: h(c, "beta1"),
            beta2: h(c, "beta2"),
            eps: h(c, "eps"),
            weight_decay: h(c, "weight_decay"),
            step,
        },
        _ => UpdateRule::SgdSai {
            lr: h(c, "lr"),
            momentum: h(c, "momentum"),
            weight_decay: h(c, "weight_decay"),
            gsnr,
            step,
        },
    }
}

fn assert_close(name: &str, got: &[f32], want: &[f32]) {
    let worst = got
        .iter()
        .zip(want)
        .map(|(&a, &b)| (a as f64 - b as f64).abs() / (b.abs() as f64).max(1.0))
        .fold(0.0, f64::max);
    assert!(worst <= 1e-6, "{name}: worst relative error {worst:e}");
}

#[test]
fn fused_rules_match_torch_over_100_steps() {
    let d = load();
    let n = d["n"].as_u64().unwrap() as usize;
    let steps = d["steps"].as_u64().unwrap() as usize;
    let p0 = f32s(&d["p0"]);
    let cases = d["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let grads = f32s(&c["grads"]);
        let want = f32s(&c["p_final"]);
        let gsnr = noisekit::update::gsnr_block(
            &grads[..n],
            h(c, "eps").max(0.0) as f64,
            GsnrPolicy::Reference,
        )
        .unwrap()
        .unwrap_or(1.0) as f32;
        if let Some(g) = c.get("gsnr") {
            assert!(
                (gsnr as f64 - g.as_f64().unwrap()).abs() <= 1e-6 * g.as_f64().unwrap(),
                "{name} gsnr"
            );
        }
        for threads in [0usize, 1, 2] {
            let mut p = p0.clone();
            let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
            for t in 0..steps {
                let r = rule_of(c, t as u64 + 1, gsnr);
                let g = &grads[t * n..(t + 1) * n];
                if threads == 0 {
                    apply_update(&r, &mut p, g, &mut [&mut a, &mut b], None, 0).unwrap();
                } else {
                    apply_update_threads(&r, &mut p, g, &mut [&mut a, &mut b], None, 0, threads)
                        .unwrap();
                }
            }
            assert_close(name, &p, &want);
        }
        // The Optimizer object gives the same trajectory (SGD-SaI computes its own gsnr).
        let rule = match rule_of(c, 1, gsnr) {
            UpdateRule::Sgd {
                momentum,
                dampening,
                nesterov,
                ..
            } => Rule::Sgd {
                momentum,
                dampening,
                nesterov,
            },
            UpdateRule::AdamW {
                beta1, beta2, eps, ..
            } => Rule::AdamW { beta1, beta2, eps },
            UpdateRule::SgdSai { momentum, .. } => Rule::SgdSai {
                momentum,
                eps: h(c, "eps"),
                policy: GsnrPolicy::Reference,
            },
        };
        let cfg = GroupConfig {
            lr: h(c, "lr"),
            weight_decay: h(c, "weight_decay"),
            rule,
        };
        let mut opt = Optimizer::single(&[n], cfg, OptimizerConfig::default()).unwrap();
        let mut p = p0.clone();
        for t in 0..steps {
            let mut g = grads[t * n..(t + 1) * n].to_vec();
            opt.step(&mut [&mut p], &mut [&mut g]).unwrap();
        }
        assert_close(name, &p, &want);
    }
}
