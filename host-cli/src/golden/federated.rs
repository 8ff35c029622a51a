//! Golden cases of federated LoRA: the SVD re-factorisation and a short FedSVD run with DP.

use anyhow::Result;
use noisekit::federated::simulation::{run, ClientDp};
use noisekit::federated::{svd_refactor, Aggregator, ClientData, FedConfig, LoraLinear};
use noisekit::rng::seq;
use serde_json::{json, Value};

use super::GoldenCase;

fn refactor() -> Result<Value> {
    let mut rng = seq::default_rng(14);
    let mut b = vec![0.0; 8 * 3];
    let mut a = vec![0.0; 3 * 10];
    seq::fill_gaussian_f64(&mut rng, 1.0, &mut b)?;
    seq::fill_gaussian_f64(&mut rng, 0.3, &mut a)?;
    let f = svd_refactor(&b, &a, 8, 10, 3)?;
    Ok(json!({ "b": f.b, "a": f.a, "singular_values": f.singular_values }))
}

fn fedsvd_run() -> Result<Value> {
    let mut rng = seq::default_rng(41);
    let (d_in, d_out, r) = (6, 3, 2);
    let mut w0 = vec![0.0; d_out * d_in];
    seq::fill_gaussian_f64(&mut rng, 0.4, &mut w0)?;
    let mut a = vec![0.0; r * d_in];
    seq::fill_gaussian_f64(&mut rng, 0.4, &mut a)?;
    let layer = LoraLinear::new(d_in, d_out, r, 2.0, w0, a, vec![0.0; d_out * r])?;
    let mut data = |n: usize| -> Result<ClientData> {
        let mut x = vec![0.0; n * d_in];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut x)?;
        let y = x
            .chunks_exact(d_in)
            .flat_map(|xi| [xi[0] - xi[1], 0.5 * xi[2], xi[3] + xi[5]])
            .collect();
        Ok(ClientData { x, y, n })
    };
    let clients = vec![data(25)?, data(15)?];
    let test = data(40)?;
    let cfg = FedConfig {
        rounds: 3,
        local_steps: 2,
        sample_rate: 0.4,
        lr: 0.2,
        dp: Some(ClientDp {
            clip: 1.0,
            noise_multiplier: 1.1,
        }),
        aggregator: Aggregator::FedSvd {
            period: 1,
            warmup: 0,
        },
        seed: 5,
    };
    let out = run(layer, &clients, &test, &cfg)?;
    let mse: Vec<f64> = out.rounds.iter().map(|s| s.test_mse).collect();
    Ok(json!({ "a": out.layer.a, "b": out.layer.b, "test_mse": mse }))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "federated_svd_refactor",
            rel_tol: 1e-10,
            produce: refactor,
        },
        GoldenCase {
            name: "federated_fedsvd_dp_run",
            rel_tol: 1e-9,
            produce: fedsvd_run,
        },
    ]
}
