//! The computations the bare-metal firmware runs, on fixed inputs and seeds, with no allocator.
//! The firmware (`embedded/firmware`) prints every result over semihosting; the host test
//! (`tests/parity.rs`) runs the same functions here and compares with what the firmware printed.
#![no_std]

use noisekit::accounting::{epsilon_for, DP_ACCOUNTING_ORDERS};
use noisekit::backend::{apply_update, UpdateRule};
use noisekit::fractional::mafbm::MafbmSamplerN;
use noisekit::fractional::weights::{gamma_grid, omega_optimal, Kind, Normalisation};
use noisekit::privacy::clip::NanPolicy;
use noisekit::privacy::dpsgd::dp_sgd_step;
use noisekit::rng::{bulk, philox4x32_10, seq, NoiseKey, PhiloxRng};
use noisekit::score::prior_score::LevelPrior;
use noisekit::score::tweedie::{denoise, NoiseModel};
pub use noisekit::Result;

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

/// Two DP-SGD steps on a linear model `y = w . x` with squared loss over a batch of 4 samples
/// (per-sample gradients `(w . x_i - y_i) x_i`, clip 1.0, noise multiplier 1.1, expected batch 4,
/// noise from the Philox stream), each followed by an SGD step; then the RDP accountant's
/// epsilon of 1000 steps at q = 0.01, sigma = 1.1, delta = 1e-5 over dp-accounting's orders.
pub fn dp_sgd<S: Sink>(sink: &mut S) -> Result<()> {
    let x = [
        [1.0f32, 0.5, -0.2],
        [-0.3, 2.0, 0.1],
        [0.7, -1.2, 3.0],
        [0.0, 0.4, -0.9],
    ];
    let y = [1.0f32, -0.5, 2.0, 0.3];
    let mut w = [0.1f32, -0.2, 0.05];
    let key = NoiseKey::new(7, 3);
    let mut clipped = [0u32; 2];
    for (step, n_clipped) in clipped.iter_mut().enumerate() {
        let mut per_sample = [0f32; 12];
        for ((row, xi), &yi) in per_sample.chunks_exact_mut(3).zip(&x).zip(&y) {
            let r = w[0] * xi[0] + w[1] * xi[1] + w[2] * xi[2] - yi;
            for (g, &xj) in row.iter_mut().zip(xi) {
                *g = r * xj;
            }
        }
        let mut grad = [0f32; 3];
        let stats = dp_sgd_step(
            &per_sample,
            4,
            1.0,
            1.1,
            4.0,
            NanPolicy::Error,
            &key.advanced(step as u64 * 4),
            &mut grad,
        )?;
        *n_clipped = stats.clipped as u32;
        let rule = UpdateRule::Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            step: step as u64 + 1,
        };
        apply_update(&rule, &mut w, &grad, &mut [], None, 0)?;
    }
    sink.words("dp_sgd_clipped", &clipped);
    sink.floats("dp_sgd_params", &w);
    let eps = epsilon_for(0.01, 1.1, 1000, 1e-5, &DP_ACCOUNTING_ORDERS)?;
    sink.doubles("dp_epsilon_and_order", &[eps.value, eps.order]);
    Ok(())
}

/// Tweedie denoising (Noise2Score's three formulas) of a 16-sample signal on levels {0.2, 0.5,
/// 0.9}, with the exact score of the noisy density under the level prior: Gaussian (sigma 0.1),
/// Poisson (zeta 0.05) and Gamma (k 20) noise drawn from the Philox stream.
pub fn tweedie<S: Sink>(sink: &mut S) -> Result<()> {
    let levels = [0.2, 0.5, 0.9];
    let weights = [0.3, 0.4, 0.3];
    let prior = LevelPrior::new(&levels, &weights)?;
    let mut rng = PhiloxRng::new(NoiseKey::new(11, 0));
    let mut clean = [0.0f64; 16];
    for (i, c) in clean.iter_mut().enumerate() {
        *c = levels[(i * 7 + i / 3) % 3];
    }
    let models = [
        ("tweedie_gaussian", NoiseModel::Gaussian(0.1)),
        ("tweedie_poisson", NoiseModel::Poisson(0.05)),
        ("tweedie_gamma", NoiseModel::Gamma(20.0)),
    ];
    for (name, model) in models {
        let mut noisy = [0.0f64; 16];
        for (y, &x) in noisy.iter_mut().zip(&clean) {
            *y = match model {
                NoiseModel::Gaussian(s) => x + s * seq::normal(&mut rng),
                NoiseModel::Poisson(z) => z * seq::poisson(&mut rng, x / z)? as f64,
                NoiseModel::Gamma(k) => x * seq::gamma(&mut rng, k, 1.0 / k)?,
            };
        }
        let mut score = [0.0f64; 16];
        prior.score_image(&noisy, model, &mut score)?;
        let mut out = [0.0f64; 16];
        denoise(model, &noisy, &score, &mut out)?;
        sink.doubles(name, &out);
    }
    Ok(())
}

/// One MA-fBM path (H = 0.3, K = 5 OU speeds on a geometric grid up to 20, optimal type I weights
/// on [0, 1]) of 32 exact steps of 1/32, normals from the Philox stream.
pub fn mafbm<S: Sink>(sink: &mut S) -> Result<()> {
    let mut gamma = [0.0f64; 5];
    gamma_grid(20.0, 0, &mut gamma)?;
    let mut omega = [0.0f64; 5];
    omega_optimal(
        &gamma,
        0.3,
        1.0,
        Kind::TypeI,
        Normalisation::Standard,
        &mut omega,
    )?;
    sink.doubles("mafbm_omega", &omega);
    // Capacity 5 = K: two 5 x 5 factors instead of the default 32 x 32 (16 KiB).
    let sampler = MafbmSamplerN::<5>::new(&gamma, &omega, Kind::TypeI, 1.0 / 32.0)?;
    let mut path = [0.0f64; 33];
    sampler.sample(&mut PhiloxRng::new(NoiseKey::new(5, 1)), &mut path)?;
    sink.doubles("mafbm_path", &path);
    Ok(())
}

/// Every workload, in the order the firmware prints them.
pub fn run_all<S: Sink>(sink: &mut S) -> Result<()> {
    philox(sink);
    update_rules(sink)?;
    dp_sgd(sink)?;
    tweedie(sink)?;
    mafbm(sink)?;
    Ok(())
}
