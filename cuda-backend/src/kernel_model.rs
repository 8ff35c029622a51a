//! A line-by-line Rust transcription of the CUDA kernels' arithmetic (`kernels/*.cu`), tested
//! against the CPU reference (`noisekit::rng::bulk`, `noisekit::backend::apply_update`). It checks,
//! without a GPU, that the kernels' index maths (one thread per block of four elements), Philox
//! rounds, uniform map and operation order reproduce the CPU; only the device's `logf`/`sincosf`
//! (documented to within 1-2 ulp) are not modelled here, and the test bounding the CPU normals
//! against f64 Box-Muller justifies the parity tolerance used on the GPU.

use noisekit::backend::UpdateRule;
use noisekit::NoiseKey;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// `nk_philox`: ten rounds, the key bumped after every round (the last bump is unused).
fn nk_philox(block: u64, stream: u32, seed: u64) -> [u32; 4] {
    let (mut x0, mut x1, mut x2, mut x3) = (block as u32, (block >> 32) as u32, stream, 0u32);
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for _ in 0..10 {
        let umulhi = |a: u32, b: u32| ((a as u64 * b as u64) >> 32) as u32;
        let (hi0, lo0) = (umulhi(M0, x0), M0.wrapping_mul(x0));
        let (hi1, lo1) = (umulhi(M1, x2), M1.wrapping_mul(x2));
        let n0 = hi1 ^ x1 ^ k0;
        let n2 = hi0 ^ x3 ^ k1;
        (x0, x1, x2, x3) = (n0, lo1, n2, lo0);
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    [x0, x1, x2, x3]
}

/// `nk_unit`: `(float)((w >> 8) + 1u) * (1.0f / 16777216.0f)`.
fn nk_unit(w: u32) -> f32 {
    ((w >> 8) + 1) as f32 * (1.0f32 / 16_777_216.0f32)
}

/// `nk_normal4` with the host's libm in place of the device's `logf`/`sincosf`.
fn nk_normal4(seed: u64, stream: u32, offset: u64, q: u64) -> [f32; 4] {
    let w = nk_philox(offset.wrapping_add(q), stream, seed);
    let mut z = [0f32; 4];
    for p in 0..2 {
        let r = libm::sqrtf(-2.0f32 * libm::logf(nk_unit(w[2 * p])));
        let (s, c) = libm::sincosf(6.283_185_5_f32 * nk_unit(w[2 * p + 1]));
        z[2 * p] = r * c;
        z[2 * p + 1] = r * s;
    }
    z
}

/// The grid-stride quad loop of `noise.cu`: element `4q + l` gets lane `l` of quad `q`.
fn model_fill(key: NoiseKey, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    for q in 0..n.div_ceil(4) as u64 {
        let z = nk_normal4(key.seed, key.stream, key.offset, q);
        for (l, zl) in z.iter().enumerate() {
            let i = 4 * q as usize + l;
            if i < n {
                out[i] = *zl;
            }
        }
    }
    out
}

/// The body of `update.cu` for one element (`NK_UPDATE_LOOP` + each kernel's block), with the host
/// constants computed as `backend.rs` computes them.
fn model_update(
    rule: &UpdateRule,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    noise: Option<(NoiseKey, f32)>,
) {
    let n = p.len();
    for q in 0..n.div_ceil(4) as u64 {
        let z = match noise {
            Some((k, _)) => nk_normal4(k.seed, k.stream, k.offset, q),
            None => [0.0; 4],
        };
        for (l, &zl) in z.iter().enumerate() {
            let i = 4 * q as usize + l;
            if i >= n {
                break;
            }
            let mut gi = g[i];
            if let Some((_, sigma)) = noise {
                gi = gi + sigma * zl;
            }
            match *rule {
                UpdateRule::Sgd {
                    lr,
                    momentum,
                    dampening,
                    weight_decay,
                    nesterov,
                    step,
                } => {
                    let pi = p[i];
                    gi = gi + weight_decay * pi;
                    if momentum == 0.0 {
                        p[i] = pi - lr * gi;
                    } else {
                        let b = if step == 1 {
                            gi
                        } else {
                            momentum * s0[i] + (1.0f32 - dampening) * gi
                        };
                        s0[i] = b;
                        let d = if nesterov { gi + momentum * b } else { b };
                        p[i] = pi - lr * d;
                    }
                }
                UpdateRule::AdamW {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                    step,
                } => {
                    let t = step.min(i32::MAX as u64) as i32;
                    let step_size = lr / (1.0 - libm::powf(beta1, t as f32));
                    let bc2_sqrt = libm::sqrtf(1.0 - libm::powf(beta2, t as f32));
                    let decay = 1.0 - lr * weight_decay;
                    let pi = p[i] * decay;
                    let mi = beta1 * s0[i] + (1.0f32 - beta1) * gi;
                    let vi = beta2 * s1[i] + (1.0f32 - beta2) * gi * gi;
                    s0[i] = mi;
                    s1[i] = vi;
                    let denom = libm::sqrtf(vi) / bc2_sqrt + eps;
                    p[i] = pi - step_size * mi / denom;
                }
                UpdateRule::SgdSai {
                    lr,
                    momentum,
                    weight_decay,
                    gsnr,
                    step,
                } => {
                    let (decay, scale) = (1.0 - lr * weight_decay, lr * gsnr);
                    let b = if step == 1 {
                        gi
                    } else {
                        momentum * s0[i] + (1.0f32 - momentum) * gi
                    };
                    s0[i] = b;
                    p[i] = p[i] * decay - scale * b;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noisekit::backend::apply_update;
    use noisekit::rng::bulk;

    fn keys() -> [NoiseKey; 4] {
        [
            NoiseKey::new(0, 0),
            NoiseKey::new(0x299f_31d0_a409_3822, 0x1319_8a2e),
            NoiseKey::new(42, 7).advanced(u64::MAX - 3), // block index wraps
            NoiseKey::new(u64::MAX, u32::MAX).advanced(1 << 40),
        ]
    }

    #[test]
    fn kernel_philox_matches_core_bit_for_bit() {
        assert_eq!(
            nk_philox(0, 0, 0),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        for key in keys() {
            for q in [0u64, 1, 2, 1000, u64::MAX] {
                assert_eq!(
                    nk_philox(key.offset.wrapping_add(q), key.stream, key.seed),
                    key.block(q)
                );
            }
            // uniforms: the kernel's map is bit-equal to bulk::fill_uniform_f32
            let mut want = [0f32; 11];
            bulk::fill_uniform_f32(&key, &mut want);
            for (i, w) in want.iter().enumerate() {
                let word =
                    nk_philox(key.offset.wrapping_add(i as u64 / 4), key.stream, key.seed)[i % 4];
                assert_eq!(nk_unit(word).to_bits(), w.to_bits());
            }
        }
    }

    #[test]
    fn kernel_quad_layout_matches_bulk_fill_for_every_length() {
        for key in keys() {
            for n in [0usize, 1, 3, 4, 5, 17, 64, 131] {
                let mut want = vec![0f32; n];
                bulk::fill_normal_f32(&key, &mut want);
                let got = model_fill(key, n);
                assert_eq!(
                    got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "n = {n}"
                );
            }
        }
    }

    /// The GPU parity bound for normals, `|z_gpu - z_cpu| <= 8 * 2^-23 * max(|z|, 1)`, is twice the
    /// bound each side keeps to the exact Box-Muller value (CUDA documents logf at 1 ulp and
    /// sincosf at 2 ulp; libm is within 1 ulp). Here: the CPU side against f64 over 40 000 normals.
    #[test]
    fn cpu_normals_within_half_the_parity_bound_of_exact_box_muller() {
        let key = NoiseKey::new(2024, 3);
        let n = 40_000;
        let mut z = vec![0f32; n];
        bulk::fill_normal_f32(&key, &mut z);
        let mut worst = 0.0f64;
        for (i, zi) in z.iter().enumerate() {
            let w = key.block(i as u64 / 4);
            let pair = (i % 4) / 2 * 2;
            let ur = ((w[pair] >> 8) + 1) as f64 / 16_777_216.0;
            let ua = ((w[pair + 1] >> 8) + 1) as f64 / 16_777_216.0;
            // the angle argument is rounded to f32 on both devices before sin/cos
            let theta = (6.283_185_5_f32 * ua as f32) as f64;
            let r = (-2.0 * ur.ln()).sqrt();
            let exact = if i % 2 == 0 {
                r * theta.cos()
            } else {
                r * theta.sin()
            };
            let err = (*zi as f64 - exact).abs() / (zi.abs() as f64).max(1.0);
            worst = worst.max(err / f32::EPSILON as f64);
        }
        assert!(worst <= 4.0, "worst CPU error {worst} units of 2^-23");
    }

    #[test]
    fn kernel_update_bodies_match_apply_update_bit_for_bit() {
        let n = 23;
        let p0: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.731).sin()).collect();
        let g: Vec<f32> = (0..n).map(|i| ((i as f32) * 1.37).cos() * 0.1).collect();
        let s0i: Vec<f32> = (0..n).map(|i| (i as f32) * 0.01).collect();
        let s1i: Vec<f32> = (0..n).map(|i| (i as f32) * 0.002).collect();
        let rules = [
            UpdateRule::Sgd {
                lr: 0.1,
                momentum: 0.0,
                dampening: 0.0,
                weight_decay: 0.01,
                nesterov: false,
                step: 3,
            },
            UpdateRule::Sgd {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0.1,
                weight_decay: 0.01,
                nesterov: false,
                step: 1,
            },
            UpdateRule::Sgd {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0.1,
                weight_decay: 0.01,
                nesterov: false,
                step: 5,
            },
            UpdateRule::Sgd {
                lr: 0.05,
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 0.0,
                nesterov: true,
                step: 2,
            },
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                step: 1,
            },
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                step: 7,
            },
            UpdateRule::SgdSai {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 1e-4,
                gsnr: 0.37,
                step: 1,
            },
            UpdateRule::SgdSai {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 1e-4,
                gsnr: 0.37,
                step: 4,
            },
        ];
        for rule in rules {
            for noise in [None, Some((NoiseKey::new(9, 2).advanced(5), 0.3f32))] {
                let (mut pw, mut aw, mut bw) = (p0.clone(), s0i.clone(), s1i.clone());
                apply_update(&rule, &mut pw, &g, &mut [&mut aw, &mut bw], noise, 0).unwrap();
                let (mut pm, mut am, mut bm) = (p0.clone(), s0i.clone(), s1i.clone());
                model_update(&rule, &mut pm, &g, &mut am, &mut bm, noise);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&pm), bits(&pw), "{rule:?} {noise:?}");
                if rule.state_buffers() >= 1 {
                    assert_eq!(bits(&am), bits(&aw), "{rule:?}");
                }
                if rule.state_buffers() == 2 {
                    assert_eq!(bits(&bm), bits(&bw), "{rule:?}");
                }
            }
        }
    }
}
