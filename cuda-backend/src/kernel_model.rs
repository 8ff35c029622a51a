//! A line-by-line Rust transcription of the CUDA kernels' arithmetic (`kernels/*.cu`), tested
//! against the CPU reference (`noisekit::rng::bulk`, `noisekit::backend::apply_update`). It checks,
//! without a GPU, that the kernels' index maths (one thread per block of four elements), Philox
//! rounds, uniform map, branch-free `ln`/`sincos` (`rng::fastmath`) and operation order reproduce
//! the CPU bit for bit. The polynomial constants are read from `kernels/prelude.cuh` itself (its hex
//! float `#define`s), so a wrong constant in the kernel source fails here. What is not modelled is
//! the device's IEEE arithmetic itself (`+ - * /`, `sqrtf` correctly rounded, no FMA under
//! `--fmad=false`), which is why the GPU parity tests can demand bit-equality.

// `y = y + a` is kept as written in the CUDA source it mirrors (the same operation as `+=`).
#![allow(clippy::assign_op_pattern)]

use noisekit::backend::{AdamWScalars, UpdateRule};
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

/// Parses a C hex float literal such as `0x1.2043760000000p-4f` (exact for these constants).
fn parse_hex_float(lit: &str) -> Option<f32> {
    let lit = lit.trim().trim_end_matches('f');
    let (neg, lit) = match lit.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, lit),
    };
    let body = lit.strip_prefix("0x")?;
    let (mant, exp) = body.split_once('p')?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = u64::from_str_radix(int, 16).ok()? as f64;
    for (i, d) in frac.chars().enumerate() {
        v += d.to_digit(16)? as f64 / 16f64.powi(i as i32 + 1);
    }
    let v = v * 2f64.powi(exp.parse::<i32>().ok()?);
    Some(if neg { -v as f32 } else { v as f32 })
}

/// The `#define NK_<name> <hex float>` constants of `kernels/prelude.cuh`.
fn prelude_constant(name: &str) -> f32 {
    let src = include_str!("../kernels/prelude.cuh");
    let key = format!("#define NK_{name} ");
    let line = src
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("no {key}"));
    let lit = line[key.len()..].split_whitespace().next().unwrap_or("");
    parse_hex_float(lit).unwrap_or_else(|| panic!("bad literal for {name}: {lit}"))
}

/// The kernel's constants, in the order the functions use them.
struct Consts {
    ln_p: [f32; 9],
    ln_q1: f32,
    ln_q2: f32,
    sin: [f32; 3],
    cos: [f32; 3],
    sqrt_half: f32,
    tau: f32,
}

impl Consts {
    fn from_prelude() -> Self {
        let c = prelude_constant;
        Consts {
            ln_p: core::array::from_fn(|i| c(&format!("LN_P{i}"))),
            ln_q1: c("LN_Q1"),
            ln_q2: c("LN_Q2"),
            sin: [c("SIN_C1"), c("SIN_C2"), c("SIN_C3")],
            cos: [c("COS_C1"), c("COS_C2"), c("COS_C3")],
            sqrt_half: c("SQRT_HALF"),
            tau: c("TAU"),
        }
    }
}

/// `nk_ln`.
fn nk_ln(k: &Consts, xin: f32) -> f32 {
    let bits = xin.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < k.sqrt_half;
    let ef = (if small { e - 1 } else { e }) as f32;
    let x = if small { (m + m) - 1.0 } else { m - 1.0 };
    let z = x * x;
    let p = &k.ln_p;
    let mut q = p[0];
    q = q * x - p[1];
    q = q * x + p[2];
    q = q * x - p[3];
    q = q * x + p[4];
    q = q * x - p[5];
    q = q * x + p[6];
    q = q * x - p[7];
    q = q * x + p[8];
    let mut y = (x * z) * q;
    y = y + (-k.ln_q1) * ef;
    y = y + (-0.5f32) * z;
    let r = x + y;
    r + k.ln_q2 * ef
}

/// `nk_sincos_turns` -> (sin, cos).
fn nk_sincos_turns(k: &Consts, u: f32) -> (f32, f32) {
    let q = (u * 4.0 + 0.5) as i32;
    let r = (u - q as f32 * 0.25) * k.tau;
    let z = r * r;
    let s = (((-k.sin[0] * z + k.sin[1]) * z - k.sin[2]) * z) * r + r;
    let c = ((((k.cos[0] * z - k.cos[1]) * z + k.cos[2]) * z) * z - 0.5 * z) + 1.0;
    let odd = q & 1 != 0;
    let (mut sn, mut cs) = if odd { (c, s) } else { (s, c) };
    if q & 2 != 0 {
        sn = -sn;
    }
    if (q + 1) & 2 != 0 {
        cs = -cs;
    }
    (sn, cs)
}

/// `nk_normal4` (`sqrtf` is correctly rounded on the device, as `f32::sqrt` is here).
fn nk_normal4(seed: u64, stream: u32, offset: u64, q: u64) -> [f32; 4] {
    thread_local!(static K: Consts = Consts::from_prelude());
    K.with(|k| {
        let w = nk_philox(offset.wrapping_add(q), stream, seed);
        let mut z = [0f32; 4];
        for p in 0..2 {
            let r = (-2.0f32 * nk_ln(k, nk_unit(w[2 * p]))).sqrt();
            let (s, c) = nk_sincos_turns(k, nk_unit(w[2 * p + 1]));
            z[2 * p] = r * c;
            z[2 * p + 1] = r * s;
        }
        z
    })
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
                    let AdamWScalars {
                        decay,
                        step_size,
                        bc2_sqrt,
                    } = AdamWScalars::new(lr, beta1, beta2, weight_decay, step);
                    let mi = s0[i] + (1.0f32 - beta1) * (gi - s0[i]);
                    let vi = beta2 * s1[i] + (1.0f32 - beta2) * gi * gi;
                    s0[i] = mi;
                    s1[i] = vi;
                    let denom = libm::sqrtf(vi) / bc2_sqrt + eps;
                    p[i] = p[i] * decay - step_size * (mi / denom);
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

    #[test]
    fn prelude_constants_are_the_rust_literals() {
        let k = Consts::from_prelude();
        // the literals of noisekit::rng::fastmath
        let ln_p = [
            7.037_683_6e-2_f32,
            1.151_461_1e-1,
            1.167_699_9e-1,
            1.242_014_1e-1,
            1.424_932_3e-1,
            1.666_805_8e-1,
            2.000_071_4e-1,
            2.499_999_4e-1,
            3.333_333e-1,
        ];
        assert_eq!(k.ln_p, ln_p);
        assert_eq!((k.ln_q1, k.ln_q2), (2.121_944_4e-4, 0.693_359_4));
        assert_eq!(k.sin, [1.951_529_6e-4, 8.332_161e-3, 1.666_665_5e-1]);
        assert_eq!(k.cos, [2.443_315_7e-5, 1.388_731_6e-3, 4.166_664_6e-2]);
        assert_eq!(k.sqrt_half, core::f32::consts::FRAC_1_SQRT_2);
        assert_eq!(k.tau, core::f32::consts::TAU);
        assert_eq!(parse_hex_float("-0x1.8p-1f"), Some(-0.75));
    }

    #[test]
    fn kernel_normals_match_core_over_the_whole_uniform_grid_sample() {
        // every Box-Muller input class: u near 0 and 1, all four quadrants of the angle
        let k = Consts::from_prelude();
        for w in (0u32..=u32::MAX)
            .step_by(65_537)
            .chain([0, 255, 256, u32::MAX])
        {
            let u = nk_unit(w);
            for wa in [0u32, 1 << 30, 1 << 31, 3 << 30, u32::MAX, w.rotate_left(7)] {
                let ua = nk_unit(wa);
                let (a, b) = bulk::box_muller_f32(u, ua);
                let r = (-2.0f32 * nk_ln(&k, u)).sqrt();
                let (s, c) = nk_sincos_turns(&k, ua);
                assert_eq!(
                    ((r * c).to_bits(), (r * s).to_bits()),
                    (a.to_bits(), b.to_bits()),
                    "w {w:#x} wa {wa:#x}"
                );
            }
        }
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
