//! The computations the bare-metal firmware runs, on fixed inputs and seeds, with no allocator.
//! The firmware (`embedded/firmware`) prints every result over semihosting; the host test
//! (`tests/parity.rs`) runs the same functions here and compares with what the firmware printed.
#![no_std]

use noisekit::backend::{apply_update, UpdateRule};
use noisekit::rng::{bulk, philox4x32_10, NoiseKey};
use noisekit::Result;

/// Receives named results.
pub trait Sink {
    /// `u32` words (compared bit for bit).
    fn words(&mut self, name: &str, values: &[u32]);
    /// `f32` values (compared within a stated ulp bound).
    fn floats(&mut self, name: &str, values: &[f32]);
    /// `f64` values (compared to 1e-12 relative).
    fn doubles(&mut self, name: &str, values: &[f64]);
}

/// Philox4x32-10 words and the bulk normal fill.
pub fn philox<S: Sink>(sink: &mut S) {
    let mut words = [0u32; 16];
    for (b, chunk) in words.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&philox4x32_10([b as u32, 0, 5, 0], [2026, 0]));
    }
    sink.words("philox_words", &words);
    let mut z = [0f32; 70];
    bulk::fill_normal_f32(&NoiseKey::new(2026, 5), &mut z);
    sink.floats("philox_normals", &z);
}

/// Three SGD-SaI steps (the spec's trajectory G7: p0 = [1, -2], lr 0.01, momentum 0.9, wd 0.01,
/// g-SNR frozen at 7.071067711865476) and three SGD steps with annealed Gaussian gradient noise
/// (sigma_t^2 = eta / (1 + t)^gamma, eta = 0.3, gamma = 0.55) generated inside the update pass.
pub fn update_rules<S: Sink>(sink: &mut S) -> Result<()> {
    let mut p = [1.0f32, -2.0];
    let mut buf = [0f32; 2];
    let grads = [[3.0f32, 4.0], [1.0, -1.0], [-2.0, 0.5]];
    for (t, g) in grads.iter().enumerate() {
        let rule = UpdateRule::SgdSai {
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 0.01,
            gsnr: 7.071_068,
            step: t as u64 + 1,
        };
        apply_update(&rule, &mut p, g, &mut [&mut buf], None, 0)?;
    }
    sink.floats("sgd_sai_params", &p);
    sink.floats("sgd_sai_momentum", &buf);
    let mut q = [0.5f32, -0.25, 1.5, 2.0, -1.0];
    let g = [0.1f32, 0.2, -0.3, 0.0, 0.05];
    let key = NoiseKey::new(99, 1);
    for t in 0..3u64 {
        let sigma = libm::sqrtf(0.3 / libm::powf(1.0 + t as f32, 0.55));
        let rule = UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            step: t + 1,
        };
        apply_update(
            &rule,
            &mut q,
            &g,
            &mut [],
            Some((key.advanced(t * 2), sigma)),
            0,
        )?;
    }
    sink.floats("annealed_noise_sgd_params", &q);
    Ok(())
}

/// Every workload, in the order the firmware prints them.
pub fn run_all<S: Sink>(sink: &mut S) -> Result<()> {
    philox(sink);
    update_rules(sink)?;
    Ok(())
}
