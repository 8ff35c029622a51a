//! Element-wise update rules as plain data, so every backend can run them in one fused pass.
//!
//! [`apply_update`] is the reference implementation on slices (no allocation); `CpuBackend` calls it
//! and the CUDA kernels transcribe it. Formulas follow `torch.optim` exactly (see each variant).

use crate::error::{check, Error, Result};
use crate::rng::bulk::fill_normal_f32_at;
use crate::rng::NoiseKey;

/// One step of an element-wise rule. `step` is 1-based (the first call is step 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UpdateRule {
    /// `torch.optim.SGD`: `g += wd p`; with momentum `mu > 0`: `buf = g` at step 1, else
    /// `buf = mu buf + (1 - dampening) g`; `g = g + mu buf` (Nesterov) or `g = buf`;
    /// `p -= lr g`. State: `[buf]` when `momentum > 0`, none otherwise.
    Sgd {
        /// Learning rate `>= 0`.
        lr: f32,
        /// Momentum `mu` in `[0, 1)`.
        momentum: f32,
        /// Dampening in `[0, 1]`.
        dampening: f32,
        /// Coupled weight decay `>= 0`.
        weight_decay: f32,
        /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
        nesterov: bool,
        /// 1-based step count.
        step: u64,
    },
    /// `torch.optim.AdamW`: `p *= 1 - lr wd`; `m = b1 m + (1-b1) g`; `v = b2 v + (1-b2) g^2`;
    /// `p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)`. State: `[m, v]`.
    AdamW {
        /// Learning rate `>= 0`.
        lr: f32,
        /// `beta1` in `[0, 1)`.
        beta1: f32,
        /// `beta2` in `[0, 1)`.
        beta2: f32,
        /// `eps > 0`.
        eps: f32,
        /// Decoupled weight decay `>= 0`.
        weight_decay: f32,
        /// 1-based step count `t`.
        step: u64,
    },
    /// SGD-SaI (Xu et al. 2024, arXiv:2412.11768) for one parameter block with frozen scale `gsnr`:
    /// `buf = g` at step 1, else `buf = mu buf + (1 - mu) g`; `p = p (1 - lr wd) - (lr gsnr) buf`.
    /// State: `[buf]`.
    SgdSai {
        /// Base learning rate `>= 0`.
        lr: f32,
        /// Momentum `mu` in `[0, 1)`.
        momentum: f32,
        /// Decoupled weight decay `>= 0` (scaled by the base lr only).
        weight_decay: f32,
        /// The block's frozen g-SNR scale `>= 0`.
        gsnr: f32,
        /// 1-based step count.
        step: u64,
    },
}

impl UpdateRule {
    /// Number of state buffers (each the size of the parameters) the rule needs.
    pub fn state_buffers(&self) -> usize {
        match *self {
            UpdateRule::Sgd { momentum, .. } => usize::from(momentum != 0.0),
            UpdateRule::AdamW { .. } => 2,
            UpdateRule::SgdSai { .. } => 1,
        }
    }

    /// The same rule at `step`.
    pub fn at_step(mut self, t: u64) -> Self {
        match &mut self {
            UpdateRule::Sgd { step, .. }
            | UpdateRule::AdamW { step, .. }
            | UpdateRule::SgdSai { step, .. } => *step = t,
        }
        self
    }

    /// Checks every hyper-parameter; a typed error names the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let step_ok = |s: u64| {
            if s >= 1 {
                Ok(())
            } else {
                Err(Error::invalid("step", 0.0, "an integer >= 1 (1-based)"))
            }
        };
        match *self {
            UpdateRule::Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                step,
            } => {
                check::non_negative("lr", lr as f64)?;
                check::half_open("momentum", momentum as f64, 0.0, 1.0, "in [0, 1)")?;
                check::closed("dampening", dampening as f64, 0.0, 1.0, "in [0, 1]")?;
                check::non_negative("weight_decay", weight_decay as f64)?;
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return Err(Error::invalid(
                        "nesterov",
                        1.0,
                        "false unless momentum > 0 and dampening = 0",
                    ));
                }
                step_ok(step)
            }
            UpdateRule::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                step,
            } => {
                check::non_negative("lr", lr as f64)?;
                check::half_open("beta1", beta1 as f64, 0.0, 1.0, "in [0, 1)")?;
                check::half_open("beta2", beta2 as f64, 0.0, 1.0, "in [0, 1)")?;
                check::positive("eps", eps as f64)?;
                check::non_negative("weight_decay", weight_decay as f64)?;
                step_ok(step)
            }
            UpdateRule::SgdSai {
                lr,
                momentum,
                weight_decay,
                gsnr,
                step,
            } => {
                check::non_negative("lr", lr as f64)?;
                check::half_open("momentum", momentum as f64, 0.0, 1.0, "in [0, 1)")?;
                check::non_negative("weight_decay", weight_decay as f64)?;
                check::non_negative("gsnr", gsnr as f64)?;
                step_ok(step)
            }
        }
    }
}

/// Runs `rule` over `params[i]`, `grads[i]` and the state slices in one pass. `state` must hold
/// [`UpdateRule::state_buffers`] slices of the parameters' length (extra ones are ignored).
/// `noise = Some((key, sigma))` adds `sigma * z_i` (element `start + i` of the key's stream) to the
/// gradient first; `start` lets a caller split one logical tensor into chunks (threads), and the
/// result is bit-identical for any split.
///
/// Cost: one read of params, grads and state, one write of params and state; with noise, one
/// Philox block and two Box-Muller evaluations per 4 elements, generated 256 elements at a time
/// into a stack buffer (no heap temporaries). Scalar coefficients (AdamW bias corrections) are
/// computed in `f64` as `torch.optim` does in Python, then rounded to `f32`.
pub fn apply_update(
    rule: &UpdateRule,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
    start: usize,
) -> Result<()> {
    rule.validate()?;
    let n = params.len();
    check::same_len("grads", n, grads.len())?;
    let need = rule.state_buffers();
    if state.len() < need {
        return Err(Error::invalid(
            "state",
            state.len() as f64,
            "one buffer per rule state",
        ));
    }
    for s in state.iter().take(need) {
        check::same_len("state", n, s.len())?;
    }
    let c = Coeffs::new(rule);
    let (s0, s1): (&mut [f32], &mut [f32]) = match state {
        [] => (&mut [], &mut []),
        [a] => (&mut a[..], &mut []),
        [a, b, ..] => (&mut a[..], &mut b[..]),
    };
    let s0 = if need >= 1 { s0 } else { &mut [] };
    let s1 = if need >= 2 { s1 } else { &mut [] };
    match noise {
        None => kernel(&c, params, grads, s0, s1),
        Some((key, sigma)) => {
            check::non_negative("sigma", sigma as f64)?;
            if start.checked_add(n).is_none() {
                return Err(Error::invalid(
                    "start",
                    start as f64,
                    "start + len <= usize::MAX",
                ));
            }
            let mut z = [0f32; CHUNK];
            let mut off = 0;
            let (mut p, mut g, mut a, mut b) = (params, grads, s0, s1);
            while off < n {
                let len = CHUNK.min(n - off);
                let base = start + off;
                // The bulk fill's vectorised (16-lane Philox) path, then `z = g + sigma z` in
                // place: the noisy gradient of this chunk lives only in this stack buffer.
                let zc = &mut z[..len];
                fill_normal_f32_at(&key, base, zc);
                let (p0, p1) = p.split_at_mut(len);
                let (g0, g1) = g.split_at(len);
                zc.iter_mut()
                    .zip(g0)
                    .for_each(|(zi, &gi)| *zi = gi + sigma * *zi);
                let (a0, a1) = a.split_at_mut(len.min(a.len()));
                let (b0, b1) = b.split_at_mut(len.min(b.len()));
                kernel(&c, p0, zc, a0, b0);
                (p, g, a, b) = (p1, g1, a1, b1);
                off += len;
            }
        }
    }
    Ok(())
}

/// The per-step scalars of AdamW, shared by every backend so that each one computes them alike:
/// `decay = 1 - lr wd`, `step_size = lr / (1 - beta1^t)`, `bc2_sqrt = sqrt(1 - beta2^t)`, the bias
/// corrections in `f64` as `torch.optim` computes them in Python, then rounded to `f32`.
/// The element update is then `p = p decay - step_size (m / (sqrt(v) / bc2_sqrt + eps))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWScalars {
    /// `1 - lr wd`.
    pub decay: f32,
    /// `lr / (1 - beta1^t)`.
    pub step_size: f32,
    /// `sqrt(1 - beta2^t)`.
    pub bc2_sqrt: f32,
}

impl AdamWScalars {
    /// The scalars at 1-based step `step` (saturated at `i32::MAX`).
    pub fn new(lr: f32, beta1: f32, beta2: f32, weight_decay: f32, step: u64) -> Self {
        let t = step.min(i32::MAX as u64) as f64;
        let bc1 = 1.0 - libm::pow(beta1 as f64, t);
        let bc2 = 1.0 - libm::pow(beta2 as f64, t);
        AdamWScalars {
            decay: 1.0 - lr * weight_decay,
            step_size: (lr as f64 / bc1) as f32,
            bc2_sqrt: libm::sqrt(bc2) as f32,
        }
    }
}

/// Elements of noise generated per stack chunk.
const CHUNK: usize = 256;

/// Per-step scalars of a rule, computed once per call.
enum Coeffs {
    Sgd {
        lr: f32,
        wd: f32,
    },
    Sgdm {
        lr: f32,
        wd: f32,
        mu: f32,
        keep: f32,
        first: bool,
        nesterov: bool,
    },
    AdamW {
        decay: f32,
        b1: f32,
        b2: f32,
        step_size: f32,
        bc2_sqrt: f32,
        eps: f32,
    },
    SgdSai {
        decay: f32,
        scale: f32,
        mu: f32,
        first: bool,
    },
}

impl Coeffs {
    fn new(rule: &UpdateRule) -> Self {
        match *rule {
            UpdateRule::Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                step,
            } => {
                if momentum == 0.0 {
                    Coeffs::Sgd {
                        lr,
                        wd: weight_decay,
                    }
                } else {
                    Coeffs::Sgdm {
                        lr,
                        wd: weight_decay,
                        mu: momentum,
                        keep: 1.0 - dampening,
                        first: step == 1,
                        nesterov,
                    }
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
                let s = AdamWScalars::new(lr, beta1, beta2, weight_decay, step);
                Coeffs::AdamW {
                    decay: s.decay,
                    b1: beta1,
                    b2: beta2,
                    step_size: s.step_size,
                    bc2_sqrt: s.bc2_sqrt,
                    eps,
                }
            }
            UpdateRule::SgdSai {
                lr,
                momentum,
                weight_decay,
                gsnr,
                step,
            } => Coeffs::SgdSai {
                decay: 1.0 - lr * weight_decay,
                scale: lr * gsnr,
                mu: momentum,
                first: step == 1,
            },
        }
    }
}

/// The element loop on one chunk (`s0`/`s1` are the state buffers, empty when unused), run as
/// its AVX-512F or AVX2 build when the CPU has one. Rust never contracts `a * b + c` into an FMA,
/// so every build gives the same bits (tested).
fn kernel(c: &Coeffs, p: &mut [f32], g: &[f32], s0: &mut [f32], s1: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked above); the function is otherwise safe.
            unsafe { kernel_avx512(c, p, g, s0, s1) };
            return;
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); the function is otherwise safe.
            unsafe { kernel_avx2(c, p, g, s0, s1) };
            return;
        }
    }
    kernel_body(c, p, g, s0, s1);
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_avx512(c: &Coeffs, p: &mut [f32], g: &[f32], s0: &mut [f32], s1: &mut [f32]) {
    kernel_body_with(c, p, g, s0, s1, |x| unsafe { sqrt8_avx(x) });
}

/// `x = sqrt(x)` on 8 lanes as one packed AVX `vsqrtps` (correctly rounded: same bits as SSE).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn sqrt8_avx(x: &mut [f32; 8]) {
    use core::arch::x86_64::{_mm256_loadu_ps, _mm256_sqrt_ps, _mm256_storeu_ps};
    // SAFETY: one unaligned 8-lane load and store inside the array.
    unsafe { _mm256_storeu_ps(x.as_mut_ptr(), _mm256_sqrt_ps(_mm256_loadu_ps(x.as_ptr()))) }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn kernel_avx2(c: &Coeffs, p: &mut [f32], g: &[f32], s0: &mut [f32], s1: &mut [f32]) {
    kernel_body_with(c, p, g, s0, s1, |x| unsafe { sqrt8_avx(x) });
}

#[inline(always)]
fn kernel_body(c: &Coeffs, p: &mut [f32], g: &[f32], s0: &mut [f32], s1: &mut [f32]) {
    kernel_body_with(c, p, g, s0, s1, sqrt_lanes);
}

/// The element loops; `sqrt8` takes the square roots of AdamW's 8-lane blocks.
#[inline(always)]
fn kernel_body_with(
    c: &Coeffs,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    sqrt8: impl Fn(&mut [f32; 8]),
) {
    match *c {
        Coeffs::Sgd { lr, wd } => {
            for (p, &g) in p.iter_mut().zip(g) {
                let g = g + wd * *p;
                *p -= lr * g;
            }
        }
        Coeffs::Sgdm {
            lr,
            wd,
            mu,
            keep,
            first,
            nesterov,
        } => {
            // One loop per (first, nesterov): branch-free bodies vectorise.
            let step = |p: &mut f32, g: f32, b: &mut f32, first: bool, nesterov: bool| {
                let g = g + wd * *p;
                *b = if first { g } else { mu * *b + keep * g };
                let d = if nesterov { g + mu * *b } else { *b };
                *p -= lr * d;
            };
            let it = p.iter_mut().zip(g).zip(s0.iter_mut());
            match (first, nesterov) {
                (true, true) => it.for_each(|((p, &g), b)| step(p, g, b, true, true)),
                (true, false) => it.for_each(|((p, &g), b)| step(p, g, b, true, false)),
                (false, true) => it.for_each(|((p, &g), b)| step(p, g, b, false, true)),
                (false, false) => it.for_each(|((p, &g), b)| step(p, g, b, false, false)),
            }
        }
        Coeffs::AdamW {
            decay,
            b1,
            b2,
            step_size,
            bc2_sqrt,
            eps,
        } => {
            let (w1, w2) = (1.0 - b1, 1.0 - b2);
            // Lanes of 8 so the square roots run as packed `sqrtps` (scalar `libm::sqrtf` is an
            // opaque asm block that stops vectorisation); both are correctly rounded, so the
            // result is bit-identical to the scalar loop.
            const L: usize = 8;
            let n = p.len().min(g.len()).min(s0.len()).min(s1.len());
            let body = n / L * L;
            let (pv, pt) = p[..n].split_at_mut(body);
            let (mv, mt) = s0[..n].split_at_mut(body);
            let (vv, vt) = s1[..n].split_at_mut(body);
            let (gv, gt) = g[..n].split_at(body);
            for (((pc, gc), mc), vc) in pv
                .chunks_exact_mut(L)
                .zip(gv.chunks_exact(L))
                .zip(mv.chunks_exact_mut(L))
                .zip(vv.chunks_exact_mut(L))
            {
                // Fixed-size local copies: the loops below then compile to packed SSE.
                let (mut pa, mut ga, mut ma, mut va) = ([0f32; L], [0f32; L], [0f32; L], [0f32; L]);
                pa.copy_from_slice(pc);
                ga.copy_from_slice(gc);
                ma.copy_from_slice(mc);
                va.copy_from_slice(vc);
                for k in 0..L {
                    ma[k] += w1 * (ga[k] - ma[k]);
                    va[k] = b2 * va[k] + w2 * ga[k] * ga[k];
                }
                let mut root = va;
                sqrt8(&mut root);
                for k in 0..L {
                    let denom = root[k] / bc2_sqrt + eps;
                    pa[k] = pa[k] * decay - step_size * (ma[k] / denom);
                }
                pc.copy_from_slice(&pa);
                mc.copy_from_slice(&ma);
                vc.copy_from_slice(&va);
            }
            for (((p, &g), m), v) in pt.iter_mut().zip(gt).zip(mt.iter_mut()).zip(vt.iter_mut()) {
                *p *= decay;
                // torch: exp_avg.lerp_(grad, 1 - beta1) = m + w (g - m).
                *m += w1 * (g - *m);
                *v = b2 * *v + w2 * g * g;
                let denom = libm::sqrtf(*v) / bc2_sqrt + eps;
                *p -= step_size * (*m / denom);
            }
        }
        Coeffs::SgdSai {
            decay,
            scale,
            mu,
            first,
        } => {
            let keep = 1.0 - mu;
            let it = p.iter_mut().zip(g).zip(s0.iter_mut());
            if first {
                it.for_each(|((p, &g), b)| {
                    *b = g;
                    *p = *p * decay - scale * *b;
                });
            } else {
                it.for_each(|((p, &g), b)| {
                    *b = mu * *b + keep * g;
                    *p = *p * decay - scale * *b;
                });
            }
        }
    }
}

/// `x = sqrt(x)` on 8 lanes: packed SSE on x86-64 (baseline there), `libm` elsewhere.
#[inline(always)]
fn sqrt_lanes(x: &mut [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_loadu_ps, _mm_sqrt_ps, _mm_storeu_ps};
        // SAFETY: SSE is part of the x86-64 baseline; the loads and stores stay inside the
        // 8-element array (offsets 0 and 4, 4 lanes each).
        unsafe {
            let a = _mm_sqrt_ps(_mm_loadu_ps(x.as_ptr()));
            let b = _mm_sqrt_ps(_mm_loadu_ps(x.as_ptr().add(4)));
            _mm_storeu_ps(x.as_mut_ptr(), a);
            _mm_storeu_ps(x.as_mut_ptr().add(4), b);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for v in x.iter_mut() {
        *v = libm::sqrtf(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// The portable, AVX2 and AVX-512 builds of the element loop give the same bits for every rule
    /// and every SGDM flag pair.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[test]
    fn every_kernel_build_gives_the_same_bits() {
        let n = 1003;
        let g: Vec<f32> = (0..n)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let sgd = |momentum: f32, nesterov: bool, step: u64| UpdateRule::Sgd {
            lr: 0.1,
            momentum,
            dampening: 0.0,
            weight_decay: 1e-3,
            nesterov,
            step,
        };
        let rules = [
            sgd(0.0, false, 1),
            sgd(0.9, false, 1),
            sgd(0.9, true, 1),
            sgd(0.9, false, 4),
            sgd(0.9, true, 4),
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 1e-2,
                step: 3,
            },
            UpdateRule::SgdSai {
                lr: 1e-3,
                momentum: 0.9,
                weight_decay: 1e-2,
                gsnr: 7.0,
                step: 1,
            },
            UpdateRule::SgdSai {
                lr: 1e-3,
                momentum: 0.9,
                weight_decay: 1e-2,
                gsnr: 7.0,
                step: 2,
            },
        ];
        type Build = unsafe fn(&Coeffs, &mut [f32], &[f32], &mut [f32], &mut [f32]);
        let builds: [(&str, bool, Build); 2] = [
            ("avx2", std::is_x86_feature_detected!("avx2"), kernel_avx2),
            (
                "avx512f",
                std::is_x86_feature_detected!("avx512f"),
                kernel_avx512,
            ),
        ];
        for rule in rules {
            let c = Coeffs::new(&rule);
            let run = |build: Option<Build>| {
                let mut p: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1 - 0.6).collect();
                let (mut a, mut b) = (vec![0.05f32; n], vec![0.02f32; n]);
                match build {
                    // SAFETY: only called with builds whose feature was detected.
                    Some(f) => unsafe { f(&c, &mut p, &g, &mut a, &mut b) },
                    None => kernel_body(&c, &mut p, &g, &mut a, &mut b),
                }
                [p, a, b]
            };
            let want = run(None);
            for (name, present, build) in builds {
                if present {
                    assert_eq!(run(Some(build)), want, "{name} {rule:?}");
                } else {
                    std::println!("SKIP {name} kernel: this CPU lacks it");
                }
            }
        }
    }
}
