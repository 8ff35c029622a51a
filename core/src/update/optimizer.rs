//! An optimizer object over several parameter tensors, organised in parameter groups.
//!
//! Each group has its own learning rate, weight decay and rule ([`Rule`]: SGD / SGDM with
//! dampening and Nesterov as `torch.optim.SGD`, AdamW as `torch.optim.AdamW`, SGD-SaI of Xu et al.
//! 2024, arXiv:2412.11768). Each tensor owns its state buffers (0, 1 or 2 of its size) and, for
//! SGD-SaI, the g-SNR frozen at the first step where it has a gradient ([`crate::update::gsnr`]).
//! One step is:
//!
//! ```text
//! 1. non-finite check (policy: error, or skip the step and count it)
//! 2. clip by global norm over all tensors (optional) and annealed noise sigma_t = sqrt(eta/(1+t)^gamma)
//!    (optional) in the configured order; AfterClip noise is generated inside the fused pass
//! 3. per tensor: apply_update(rule at step t+1) in one fused pass over params, grads and state
//! ```
//! `t` counts applied updates from 0 (skipped steps do not count). The noise of tensor `k` at step
//! `t` is Philox block `t * B + b_k` of the key, with `B` the total number of 4-element blocks and
//! `b_k` the tensor's first block, so it depends only on (seed, t, tensor, element).
//! State memory ([`Optimizer::state_bytes`]): SGD 0 (or 4 bytes/param with momentum), AdamW
//! 8 bytes/param + 8 (step counter), SGD-SaI 4 bytes/param + 4 per tensor (its frozen f32 scale).

use alloc::vec;
use alloc::vec::Vec;

use super::annealed_noise::{AnnealedGaussian, NoiseOrder};
use super::gsnr::{gsnr_block, GsnrPolicy};
use super::nonfinite::{admit, NonFinitePolicy};
#[cfg(any(test, not(feature = "std")))]
use crate::backend::apply_update;
use crate::backend::UpdateRule;
use crate::error::{check, Error, Result};
use crate::rng::NoiseKey;

/// The rule of a parameter group (hyper-parameters other than lr and weight decay).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `torch.optim.SGD` (coupled weight decay).
    Sgd {
        /// Momentum in `[0, 1)` (0 = plain SGD, no state).
        momentum: f32,
        /// Dampening in `[0, 1]`.
        dampening: f32,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `torch.optim.AdamW` (decoupled weight decay).
    AdamW {
        /// `beta1` in `[0, 1)`.
        beta1: f32,
        /// `beta2` in `[0, 1)`.
        beta2: f32,
        /// `eps > 0`.
        eps: f32,
    },
    /// SGD-SaI: EMA momentum, decoupled decay, per-tensor g-SNR scales frozen at the first step.
    SgdSai {
        /// Momentum in `[0, 1)`.
        momentum: f32,
        /// `eps >= 0` added to the std in the g-SNR.
        eps: f32,
        /// Zero-std blocks / the SGDM baseline ([`GsnrPolicy::Unit`]).
        policy: GsnrPolicy,
    },
}

impl Rule {
    /// torch defaults: `Sgd` without momentum.
    pub const SGD: Rule = Rule::Sgd {
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
    };
    /// torch defaults: AdamW `(0.9, 0.999), eps = 1e-8`.
    pub const ADAMW: Rule = Rule::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    /// The reference's defaults: momentum 0.9, eps 1e-8, reference policy.
    pub const SGD_SAI: Rule = Rule::SgdSai {
        momentum: 0.9,
        eps: 1e-8,
        policy: GsnrPolicy::Reference,
    };
    /// The SGD-SaI paper's SGDM baseline: SGD-SaI with every scale 1.
    pub const SGDM_EMA: Rule = Rule::SgdSai {
        momentum: 0.9,
        eps: 1e-8,
        policy: GsnrPolicy::Unit,
    };

    fn element_rule(&self, lr: f32, weight_decay: f32, gsnr: f32, step: u64) -> UpdateRule {
        match *self {
            Rule::Sgd {
                momentum,
                dampening,
                nesterov,
            } => UpdateRule::Sgd {
                lr,
                momentum,
                dampening,
                weight_decay,
                nesterov,
                step,
            },
            Rule::AdamW { beta1, beta2, eps } => UpdateRule::AdamW {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                step,
            },
            Rule::SgdSai { momentum, .. } => UpdateRule::SgdSai {
                lr,
                momentum,
                weight_decay,
                gsnr,
                step,
            },
        }
    }
}

/// Hyper-parameters of one parameter group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupConfig {
    /// Learning rate `>= 0`.
    pub lr: f32,
    /// Weight decay `>= 0` (coupled for SGD, decoupled for AdamW and SGD-SaI).
    pub weight_decay: f32,
    /// The rule.
    pub rule: Rule,
}

/// A parameter group: its hyper-parameters and the indices of its tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamGroup {
    /// Hyper-parameters.
    pub config: GroupConfig,
    /// Indices into the tensor list given to [`Optimizer::new`].
    pub tensors: Vec<usize>,
}

/// Options shared by all groups.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OptimizerConfig {
    /// Global-norm clipping threshold `c > 0`, or none.
    pub clip: Option<f32>,
    /// Annealed gradient noise schedule, or none.
    pub noise: Option<AnnealedGaussian>,
    /// Order of clipping and noise.
    pub noise_order: NoiseOrder,
    /// Philox key of the gradient noise.
    pub noise_key: NoiseKey,
    /// NaN/Inf gradient policy.
    pub nonfinite: NonFinitePolicy,
    /// Threads for the fused pass (`std`; 0 or 1 = the calling thread).
    pub threads: usize,
}

/// What one call of [`Optimizer::step`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Whether the step was skipped (non-finite gradient under [`NonFinitePolicy::Skip`]).
    pub skipped: bool,
    /// Global gradient norm before clipping (NaN when skipped or when not clipping).
    pub grad_norm: f64,
    /// Noise standard deviation used (0 without noise).
    pub sigma: f64,
}

/// The optimizer: groups, per-tensor state, step counter.
#[derive(Debug, Clone)]
pub struct Optimizer {
    sizes: Vec<usize>,
    groups: Vec<ParamGroup>,
    group_of: Vec<usize>,
    state: Vec<Vec<Vec<f32>>>,
    gsnr: Vec<Option<f32>>,
    block_start: Vec<u64>,
    blocks: u64,
    cfg: OptimizerConfig,
    steps: u64,
    skipped: u64,
}

fn validate_group(c: &GroupConfig) -> Result<()> {
    check::non_negative("lr", c.lr as f64)?;
    check::non_negative("weight_decay", c.weight_decay as f64)?;
    if let Rule::SgdSai { eps, .. } = c.rule {
        check::non_negative("eps", eps as f64)?;
    }
    // The element rule checks the rest (momentum, betas, eps, nesterov).
    c.rule.element_rule(c.lr, c.weight_decay, 1.0, 1).validate()
}

impl Optimizer {
    /// An optimizer over tensors of `sizes` (elements each); every tensor in exactly one group.
    pub fn new(sizes: &[usize], groups: Vec<ParamGroup>, cfg: OptimizerConfig) -> Result<Self> {
        if let Some(c) = cfg.clip {
            check::positive("clip", c as f64)?;
            check::finite("clip", c as f64)?;
        }
        if let Some(s) = cfg.noise {
            s.validate()?;
        }
        let mut group_of = vec![usize::MAX; sizes.len()];
        for (gi, g) in groups.iter().enumerate() {
            validate_group(&g.config)?;
            for &t in &g.tensors {
                match group_of.get_mut(t) {
                    Some(slot) if *slot == usize::MAX => *slot = gi,
                    Some(_) => {
                        return Err(Error::invalid(
                            "groups",
                            t as f64,
                            "each tensor in exactly one group",
                        ))
                    }
                    None => {
                        return Err(Error::invalid(
                            "groups",
                            t as f64,
                            "tensor indices below the number of tensors",
                        ))
                    }
                }
            }
        }
        if let Some(t) = group_of.iter().position(|&g| g == usize::MAX) {
            return Err(Error::invalid(
                "groups",
                t as f64,
                "each tensor in exactly one group",
            ));
        }
        let mut state = Vec::with_capacity(sizes.len());
        let mut block_start = Vec::with_capacity(sizes.len());
        let mut blocks = 0u64;
        for (k, &n) in sizes.iter().enumerate() {
            let rule = groups[group_of[k]]
                .config
                .rule
                .element_rule(0.0, 0.0, 1.0, 1);
            state.push((0..rule.state_buffers()).map(|_| vec![0f32; n]).collect());
            block_start.push(blocks);
            blocks += n.div_ceil(4) as u64;
        }
        Ok(Self {
            sizes: sizes.to_vec(),
            groups,
            group_of,
            state,
            gsnr: vec![None; sizes.len()],
            block_start,
            blocks,
            cfg,
            steps: 0,
            skipped: 0,
        })
    }

    /// One group holding every tensor.
    pub fn single(sizes: &[usize], config: GroupConfig, cfg: OptimizerConfig) -> Result<Self> {
        let tensors = (0..sizes.len()).collect();
        Self::new(sizes, vec![ParamGroup { config, tensors }], cfg)
    }

    /// Updates applied so far (`t` of the noise schedule).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Steps skipped for non-finite gradients.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The frozen SGD-SaI scales (`None` before the first step, for other rules, empty tensors).
    pub fn gsnr(&self) -> &[Option<f32>] {
        &self.gsnr
    }

    /// The groups.
    pub fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    /// Sets group `g`'s learning rate (schedules).
    pub fn set_lr(&mut self, g: usize, lr: f32) -> Result<()> {
        check::non_negative("lr", lr as f64)?;
        match self.groups.get_mut(g) {
            Some(gr) => {
                gr.config.lr = lr;
                Ok(())
            }
            None => Err(Error::invalid("group", g as f64, "an existing group index")),
        }
    }

    /// Optimizer-state bytes: state buffers (f32) + 4 per SGD-SaI tensor (its scale) + 8 for the
    /// step counter when a group runs AdamW (bias corrections need it).
    pub fn state_bytes(&self) -> usize {
        let bufs: usize = self
            .state
            .iter()
            .flat_map(|s| s.iter().map(|b| 4 * b.len()))
            .sum();
        let mut extra = 0;
        let mut adam = false;
        for (k, &g) in self.group_of.iter().enumerate() {
            match self.groups[g].config.rule {
                Rule::SgdSai { .. } if self.sizes[k] > 0 => extra += 4,
                Rule::AdamW { .. } => adam = true,
                _ => {}
            }
        }
        bufs + extra + if adam { 8 } else { 0 }
    }

    /// One optimizer step. `grads` may be modified in place (clipping, before-clip noise).
    pub fn step(
        &mut self,
        params: &mut [&mut [f32]],
        grads: &mut [&mut [f32]],
    ) -> Result<StepReport> {
        check::same_len("params", self.sizes.len(), params.len())?;
        check::same_len("grads", self.sizes.len(), grads.len())?;
        for (k, &n) in self.sizes.iter().enumerate() {
            check::same_len("params", n, params[k].len())?;
            check::same_len("grads", n, grads[k].len())?;
        }
        {
            let view: Vec<&[f32]> = grads.iter().map(|g| &**g).collect();
            if !admit(self.cfg.nonfinite, &view)? {
                self.skipped += 1;
                return Ok(StepReport {
                    skipped: true,
                    grad_norm: f64::NAN,
                    sigma: 0.0,
                });
            }
        }
        let t = self.steps;
        let sigma = self.cfg.noise.map_or(0.0, |s| s.sigma(t));
        let step_key = self.cfg.noise_key.advanced(t.wrapping_mul(self.blocks));
        let mut grad_norm = f64::NAN;
        let mut fused_noise = sigma > 0.0;
        if self.cfg.noise_order == NoiseOrder::BeforeClip && sigma > 0.0 {
            for (k, g) in grads.iter_mut().enumerate() {
                super::annealed_noise::add_noise(
                    g,
                    sigma as f32,
                    &step_key.advanced(self.block_start[k]),
                    0,
                )?;
            }
            fused_noise = false;
        }
        if let Some(c) = self.cfg.clip {
            grad_norm = super::clip::clip_by_global_norm(grads, c)?;
        }
        for k in 0..self.sizes.len() {
            let gc = self.groups[self.group_of[k]].config;
            if let Rule::SgdSai { eps, policy, .. } = gc.rule {
                if self.gsnr[k].is_none() {
                    self.gsnr[k] = gsnr_block(grads[k], eps as f64, policy)?.map(|v| v as f32);
                }
            }
            let scale = self.gsnr[k].unwrap_or(1.0);
            let rule = gc.rule.element_rule(gc.lr, gc.weight_decay, scale, t + 1);
            let noise = fused_noise.then(|| (step_key.advanced(self.block_start[k]), sigma as f32));
            let mut st: Vec<&mut [f32]> =
                self.state[k].iter_mut().map(|b| b.as_mut_slice()).collect();
            run(&rule, params[k], grads[k], &mut st, noise, self.cfg.threads)?;
        }
        self.steps += 1;
        Ok(StepReport {
            skipped: false,
            grad_norm,
            sigma,
        })
    }
}

/// Cuts a flat parameter (or gradient) vector into consecutive tensors of `sizes` elements, for
/// models that keep all parameters in one buffer (e.g. [`crate::models::Mlp`]: `W_1, b_1, ...`).
pub fn split_tensors_mut<'a>(flat: &'a mut [f32], sizes: &[usize]) -> Result<Vec<&'a mut [f32]>> {
    let total = sizes.iter().try_fold(0usize, |a, &n| a.checked_add(n));
    check::same_len("tensor sizes", flat.len(), total.unwrap_or(usize::MAX))?;
    let mut out = Vec::with_capacity(sizes.len());
    let mut rest = flat;
    for &n in sizes {
        let (a, b) = rest.split_at_mut(n);
        out.push(a);
        rest = b;
    }
    Ok(out)
}

#[cfg(feature = "std")]
fn run(
    rule: &UpdateRule,
    p: &mut [f32],
    g: &[f32],
    st: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
    threads: usize,
) -> Result<()> {
    super::parallel::apply_update_threads(rule, p, g, st, noise, 0, threads.max(1))
}

#[cfg(not(feature = "std"))]
fn run(
    rule: &UpdateRule,
    p: &mut [f32],
    g: &[f32],
    st: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
    _threads: usize,
) -> Result<()> {
    apply_update(rule, p, g, st, noise, 0)
}

#[cfg(test)]
// Oracle values keep the digits of the spec's tables.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn sai(lr: f32, wd: f32) -> GroupConfig {
        GroupConfig {
            lr,
            weight_decay: wd,
            rule: Rule::SGD_SAI,
        }
    }

    #[test]
    fn sgd_sai_three_step_oracle() {
        // Spec 13 G7 (numpy f64); f32 tolerance 1e-5 relative.
        let mut opt = Optimizer::single(&[2], sai(0.01, 0.01), OptimizerConfig::default()).unwrap();
        let mut p = [1.0f32, -2.0];
        let want = [
            ([3.0f32, 4.0], [0.7877679686f32, -2.2826427085]),
            ([1.0, -1.0], [0.5896992959, -2.5299018141]),
            ([-2.0, 0.5], [0.4255915551, -2.7559229907]),
        ];
        for (g, w) in want {
            let mut g = g;
            opt.step(&mut [&mut p], &mut [&mut g]).unwrap();
            for (a, b) in p.iter().zip(w) {
                assert!((a - b).abs() <= 1e-5 * b.abs(), "{p:?} vs {w:?}");
            }
        }
        assert!((opt.gsnr()[0].unwrap() as f64 - 7.071067711865476).abs() < 1e-5);
    }

    #[test]
    fn adamw_three_step_oracle() {
        let cfg = GroupConfig {
            lr: 1e-3,
            weight_decay: 0.01,
            rule: Rule::ADAMW,
        };
        let mut opt = Optimizer::single(&[2], cfg, OptimizerConfig::default()).unwrap();
        let mut p = [1.0f32, -2.0];
        let want = [
            ([3.0f32, 4.0], [0.99899f32, -2.00098]),
            ([1.0, -1.0], [0.9981089462, -2.0014294584]),
            ([-2.0, 0.5], [0.9978717398, -2.0018466777]),
        ];
        for (g, w) in want {
            let mut g = g;
            opt.step(&mut [&mut p], &mut [&mut g]).unwrap();
            for (a, b) in p.iter().zip(w) {
                assert!((a - b).abs() <= 1e-6 * b.abs(), "{p:?} vs {w:?}");
            }
        }
    }

    #[test]
    fn state_sizes() {
        let sizes = [4096, 128, 16384, 128, 1280, 10];
        let n: usize = sizes.iter().sum();
        assert_eq!(n, 22_026);
        let s = Optimizer::single(&sizes, sai(1e-3, 0.01), OptimizerConfig::default()).unwrap();
        assert_eq!(s.state_bytes(), 88_128);
        let a = Optimizer::single(
            &sizes,
            GroupConfig {
                lr: 1e-3,
                weight_decay: 0.01,
                rule: Rule::ADAMW,
            },
            OptimizerConfig::default(),
        )
        .unwrap();
        assert_eq!(a.state_bytes(), 176_216);
        let sgd = Optimizer::single(
            &sizes,
            GroupConfig {
                lr: 0.1,
                weight_decay: 0.0,
                rule: Rule::SGD,
            },
            OptimizerConfig::default(),
        )
        .unwrap();
        assert_eq!(sgd.state_bytes(), 0);
    }

    #[test]
    fn unit_scales_equal_sgdm_bit_for_bit_and_gsnr_is_frozen() {
        let mut a = Optimizer::single(
            &[3],
            GroupConfig {
                lr: 0.1,
                weight_decay: 0.01,
                rule: Rule::SGDM_EMA,
            },
            OptimizerConfig::default(),
        )
        .unwrap();
        let mut pa = [1.0f32, 2.0, 3.0];
        let mut pb = pa;
        let mut buf = [0f32; 3];
        for t in 1..=4u64 {
            let g = [0.1 * t as f32, -0.5, 0.25];
            a.step(&mut [&mut pa], &mut [&mut g.clone()]).unwrap();
            let r = UpdateRule::SgdSai {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 0.01,
                gsnr: 1.0,
                step: t,
            };
            apply_update(&r, &mut pb, &g, &mut [&mut buf], None, 0).unwrap();
        }
        assert_eq!(pa, pb);
        let mut s = Optimizer::single(&[2], sai(0.01, 0.0), OptimizerConfig::default()).unwrap();
        let mut p = [0.0f32; 2];
        s.step(&mut [&mut p], &mut [&mut [3.0, 4.0]]).unwrap();
        let g1 = s.gsnr()[0];
        s.step(&mut [&mut p], &mut [&mut [1.0, 100.0]]).unwrap();
        assert_eq!(s.gsnr()[0], g1);
    }

    #[test]
    fn groups_have_their_own_lr() {
        let groups = vec![
            ParamGroup {
                config: GroupConfig {
                    lr: 0.1,
                    weight_decay: 0.0,
                    rule: Rule::SGD,
                },
                tensors: vec![1],
            },
            ParamGroup {
                config: GroupConfig {
                    lr: 1.0,
                    weight_decay: 0.0,
                    rule: Rule::SGD,
                },
                tensors: vec![0],
            },
        ];
        let mut o = Optimizer::new(&[1, 1], groups, OptimizerConfig::default()).unwrap();
        let (mut a, mut b) = ([0f32], [0f32]);
        o.step(&mut [&mut a, &mut b], &mut [&mut [1.0], &mut [1.0]])
            .unwrap();
        assert_eq!((a[0], b[0]), (-1.0, -0.1));
        o.set_lr(0, 0.5).unwrap();
        assert!(o.set_lr(5, 0.5).is_err());
    }

    #[test]
    fn nonfinite_policy_and_bad_input() {
        let cfg = GroupConfig {
            lr: 0.1,
            weight_decay: 0.0,
            rule: Rule::SGD,
        };
        let mut o = Optimizer::single(&[2], cfg, OptimizerConfig::default()).unwrap();
        let mut p = [1.0f32, 1.0];
        assert_eq!(
            o.step(&mut [&mut p], &mut [&mut [0.0, f32::NAN]]),
            Err(Error::NonFinite {
                what: "gradient",
                index: 1
            })
        );
        assert_eq!(p, [1.0, 1.0]);
        let mut o = Optimizer::single(
            &[2],
            cfg,
            OptimizerConfig {
                nonfinite: NonFinitePolicy::Skip,
                ..Default::default()
            },
        )
        .unwrap();
        let r = o
            .step(&mut [&mut p], &mut [&mut [f32::INFINITY, 0.0]])
            .unwrap();
        assert!(r.skipped);
        assert_eq!((o.skipped(), o.steps(), p), (1, 0, [1.0, 1.0]));
        assert!(matches!(
            o.step(&mut [&mut p], &mut [&mut [0.0]]),
            Err(Error::ShapeMismatch { .. })
        ));
        let bad = |c: GroupConfig| Optimizer::single(&[1], c, OptimizerConfig::default()).err();
        assert!(matches!(
            bad(GroupConfig { lr: -1.0, ..cfg }),
            Some(Error::InvalidParam { name: "lr", .. })
        ));
        assert!(matches!(
            bad(GroupConfig {
                weight_decay: -1.0,
                ..cfg
            }),
            Some(Error::InvalidParam {
                name: "weight_decay",
                ..
            })
        ));
        assert!(matches!(
            bad(GroupConfig {
                rule: Rule::AdamW {
                    beta1: 1.0,
                    beta2: 0.9,
                    eps: 1e-8
                },
                ..cfg
            }),
            Some(Error::InvalidParam { name: "beta1", .. })
        ));
        assert!(matches!(
            bad(GroupConfig {
                rule: Rule::AdamW {
                    beta1: 0.9,
                    beta2: -0.1,
                    eps: 1e-8
                },
                ..cfg
            }),
            Some(Error::InvalidParam { name: "beta2", .. })
        ));
        assert!(matches!(
            bad(GroupConfig {
                rule: Rule::AdamW {
                    beta1: 0.9,
                    beta2: 0.9,
                    eps: 0.0
                },
                ..cfg
            }),
            Some(Error::InvalidParam { name: "eps", .. })
        ));
        assert!(matches!(
            bad(GroupConfig {
                rule: Rule::SgdSai {
                    momentum: 1.0,
                    eps: 1e-8,
                    policy: GsnrPolicy::Reference
                },
                ..cfg
            }),
            Some(Error::InvalidParam {
                name: "momentum",
                ..
            })
        ));
        assert!(matches!(
            bad(GroupConfig {
                rule: Rule::SgdSai {
                    momentum: 0.9,
                    eps: -1.0,
                    policy: GsnrPolicy::Reference
                },
                ..cfg
            }),
            Some(Error::InvalidParam { name: "eps", .. })
        ));
        let missing = Optimizer::new(
            &[1, 1],
            vec![ParamGroup {
                config: cfg,
                tensors: vec![0],
            }],
            OptimizerConfig::default(),
        );
        assert!(matches!(
            missing,
            Err(Error::InvalidParam { name: "groups", .. })
        ));
        // NaN at SGD-SaI's first step: a typed error, no frozen NaN.
        let mut s = Optimizer::single(&[2], sai(0.01, 0.0), OptimizerConfig::default()).unwrap();
        assert!(matches!(
            s.step(&mut [&mut p], &mut [&mut [f32::NAN, 1.0]]),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(s.gsnr()[0], None);
    }

    #[test]
    fn noise_composes_and_eta_zero_is_identity() {
        let cfg = GroupConfig {
            lr: 0.1,
            weight_decay: 0.0,
            rule: Rule::SGD,
        };
        let run = |noise: Option<AnnealedGaussian>, order: NoiseOrder| {
            let oc = OptimizerConfig {
                noise,
                noise_order: order,
                clip: Some(10.0),
                noise_key: NoiseKey::new(3, 4),
                ..Default::default()
            };
            let mut o = Optimizer::single(&[5, 3], cfg, oc).unwrap();
            let (mut a, mut b) = ([0f32; 5], [0f32; 3]);
            for _ in 0..3 {
                o.step(&mut [&mut a, &mut b], &mut [&mut [1.0; 5], &mut [2.0; 3]])
                    .unwrap();
            }
            (a, b)
        };
        let plain = run(None, NoiseOrder::AfterClip);
        assert_eq!(
            run(
                Some(AnnealedGaussian {
                    eta: 0.0,
                    gamma: 0.55
                }),
                NoiseOrder::AfterClip
            ),
            plain
        );
        let after = run(Some(AnnealedGaussian::default()), NoiseOrder::AfterClip);
        let before = run(Some(AnnealedGaussian::default()), NoiseOrder::BeforeClip);
        assert_ne!(after, plain);
        // Norm below clip: both orders add the same noise (fused vs in-place) -> equal up to rounding.
        for (x, y) in after
            .0
            .iter()
            .chain(&after.1)
            .zip(before.0.iter().chain(&before.1))
        {
            assert!((x - y).abs() < 1e-6);
        }
        // Plain SGD with noise: displacement = -lr * sum_t sigma_t z_t, from the documented key layout.
        let oc = OptimizerConfig {
            noise: Some(AnnealedGaussian::default()),
            noise_key: NoiseKey::new(3, 4),
            ..Default::default()
        };
        let mut o = Optimizer::single(&[5, 3], cfg, oc).unwrap();
        let (mut a, mut b) = ([0f32; 5], [0f32; 3]);
        o.step(&mut [&mut a, &mut b], &mut [&mut [0.0; 5], &mut [0.0; 3]])
            .unwrap();
        let mut z = [0f32; 3];
        crate::rng::bulk::fill_normal_f32(&NoiseKey::new(3, 4).advanced(2), &mut z);
        for (bi, zi) in b.iter().zip(z) {
            assert!((bi + 0.1 * 0.1 * zi).abs() < 1e-7);
        }
    }
}
