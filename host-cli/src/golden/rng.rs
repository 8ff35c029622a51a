//! Golden cases of the random-number layer: Philox words, bulk normals, sequential samplers.

use anyhow::Result;
use noisekit::rng::{bulk, philox4x32_10, seq, NoiseKey};
use serde_json::{json, Value};

use super::GoldenCase;

fn philox_words() -> Result<Value> {
    let words: Vec<[u32; 4]> = (0..4u32)
        .map(|i| philox4x32_10([i, 0, 7, 0], [0xdead_beef, 42]))
        .collect();
    Ok(json!(words))
}

fn bulk_normals() -> Result<Value> {
    let mut z32 = vec![0f32; 16];
    bulk::fill_normal_f32(&NoiseKey::new(2026, 3), &mut z32);
    let mut z64 = vec![0f64; 8];
    bulk::fill_normal_f64(&NoiseKey::new(2026, 3), &mut z64);
    Ok(json!({ "f32": z32, "f64": z64 }))
}

fn sequential() -> Result<Value> {
    let mut rng = seq::default_rng(7);
    let normal: Vec<f64> = (0..6).map(|_| seq::normal(&mut rng)).collect();
    let gamma: Vec<f64> = (0..4)
        .map(|_| seq::gamma(&mut rng, 2.5, 1.5))
        .collect::<noisekit::Result<_>>()?;
    let poisson: Vec<u64> = (0..4)
        .map(|_| seq::poisson(&mut rng, 3.5))
        .collect::<noisekit::Result<_>>()?;
    let t: Vec<f64> = (0..4)
        .map(|_| seq::student_t(&mut rng, 5.0))
        .collect::<noisekit::Result<_>>()?;
    Ok(json!({ "normal": normal, "gamma": gamma, "poisson": poisson, "student_t": t }))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "rng_philox_words",
            rel_tol: 0.0,
            produce: philox_words,
        },
        GoldenCase {
            name: "rng_bulk_normals",
            // Bit-exact: the transform uses no FMA and a correctly rounded sqrt, so every target
            // (scalar, AVX2, bare metal) computes the same bits.
            rel_tol: 0.0,
            produce: bulk_normals,
        },
        GoldenCase {
            name: "rng_sequential",
            rel_tol: 1e-12,
            produce: sequential,
        },
    ]
}
