//! Element-wise update rules as plain data, so every backend can run them in one fused pass.
//!
//! [`apply_update`] is the reference implementation on slices (no allocation); `CpuBackend` calls it
//! and the CUDA kernels transcribe it. Formulas follow `torch.optim` exactly (see each variant).

use crate::error::{check, Error, Result};
use crate::rng::bulk::for_each_normal_f32;
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
/// gradient first; `start` lets a caller split one logical tensor into chunks (threads).
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
    match noise {
        None => run(rule, params, grads, state, |_, g| g),
        Some((key, sigma)) => {
            check::non_negative("sigma", sigma as f64)?;
            // Noise is generated inside the same pass, a block of 4 elements at a time.
            let mut z = [0f32; 4];
            let mut have = usize::MAX;
            run(rule, params, grads, state, |i, g| {
                let idx = start + i;
                let block = idx / 4;
                if block != have {
                    for_each_normal_f32(&key, block * 4, 4, |j, v| z[j % 4] = v);
                    have = block;
                }
                g + sigma * z[idx % 4]
            })
        }
    }
    Ok(())
}

#[inline(always)]
fn run(
    rule: &UpdateRule,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [&mut [f32]],
    mut grad_at: impl FnMut(usize, f32) -> f32,
) {
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
                for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
                    let g = grad_at(i, g) + weight_decay * *p;
                    *p -= lr * g;
                }
            } else {
                let buf = &mut *state[0];
                for (i, ((p, &g), b)) in
                    params.iter_mut().zip(grads).zip(buf.iter_mut()).enumerate()
                {
                    let g = grad_at(i, g) + weight_decay * *p;
                    *b = if step == 1 {
                        g
                    } else {
                        momentum * *b + (1.0 - dampening) * g
                    };
                    let d = if nesterov { g + momentum * *b } else { *b };
                    *p -= lr * d;
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
            let t = step.min(i32::MAX as u64) as i32;
            let bc1 = 1.0 - libm::powf(beta1, t as f32);
            let bc2 = 1.0 - libm::powf(beta2, t as f32);
            let step_size = lr / bc1;
            let bc2_sqrt = libm::sqrtf(bc2);
            let decay = 1.0 - lr * weight_decay;
            let (m, rest) = state.split_at_mut(1);
            let (m, v) = (&mut *m[0], &mut *rest[0]);
            for (i, (((p, &g), mi), vi)) in params
                .iter_mut()
                .zip(grads)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .enumerate()
            {
                let g = grad_at(i, g);
                *p *= decay;
                *mi = beta1 * *mi + (1.0 - beta1) * g;
                *vi = beta2 * *vi + (1.0 - beta2) * g * g;
                let denom = libm::sqrtf(*vi) / bc2_sqrt + eps;
                *p -= step_size * *mi / denom;
            }
        }
        UpdateRule::SgdSai {
            lr,
            momentum,
            weight_decay,
            gsnr,
            step,
        } => {
            let decay = 1.0 - lr * weight_decay;
            let scale = lr * gsnr;
            let buf = &mut *state[0];
            for (i, ((p, &g), b)) in params.iter_mut().zip(grads).zip(buf.iter_mut()).enumerate() {
                let g = grad_at(i, g);
                *b = if step == 1 {
                    g
                } else {
                    momentum * *b + (1.0 - momentum) * g
                };
                *p = *p * decay - scale * *b;
            }
        }
    }
}
