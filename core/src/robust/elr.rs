//! ELR: early-learning regularisation, its closed-form gradient with respect to the logits, and the
//! temporal-ensembling target update with the reference code's clamping (plus the ELR+ pure helpers).
//!
//! Paper: S. Liu, J. Niles-Weed, N. Razavian, C. Fernandez-Granda, "Early-Learning Regularization
//! Prevents Memorization of Noisy Labels", NeurIPS 2020, arXiv 2007.00151 (official code
//! `ELR/model/loss.py`; spec 05 section 1).
//!
//! For a batch of B examples with ids `idx`, logits `Z` (B x C), noisy labels `y`, target memory `T`
//! (N x C, initialised to zero, persisted across epochs):
//! ```text
//! P   = softmax(Z);  Pc = clamp(P, 1e-4, 1 - 1e-4)
//! T[idx_b] <- beta T[idx_b] + (1 - beta) Pc_b / sum(Pc_b)        (BEFORE the regulariser; in order)
//! CE  = mean_b -log P[b, y_b]                                      (unclamped log-softmax)
//! REG = mean_b log(1 - <T[idx_b], Pc_b>)                           (T constant for the gradient)
//! L   = CE + lambda REG
//! dCE/dz_j  = (p_j - 1[j = y]) / B
//! Analytic: dREG/dz_j = p_j (<t,p> - t_j) / (B (1 - <t,p>))
//! Exact:    g_k = -t_k m_k / (1 - <t,Pc>), m_k = 1[1e-4 < p_k < 1 - 1e-4];
//!           dREG/dz_j = p_j (g_j - sum_k g_k p_k) / B                (the clamp's zero derivative)
//! ```
//! The two gradients agree whenever no clamp is active. `1 - <t,Pc>` is guarded with
//! `max(., f64::MIN_POSITIVE)`. Cost: O(B C) per batch; memory N C for `T`. Everything runs on
//! caller slices (no allocator).

use crate::error::{check, Error, Result};

/// Lower clamp of the probabilities in the regulariser (reference code).
pub const CLAMP_LO: f64 = 1e-4;
/// Upper clamp of the probabilities in the regulariser (reference code).
pub const CLAMP_HI: f64 = 1.0 - 1e-4;

/// ELR hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElrConfig {
    /// Temporal-ensembling momentum `beta` in [0, 1) (CIFAR-10 symmetric: 0.7).
    pub beta: f64,
    /// Regulariser weight `lambda >= 0` (CIFAR-10 symmetric: 3).
    pub lambda: f64,
}

impl Default for ElrConfig {
    /// The CIFAR-10 symmetric-noise defaults of the reference configs: beta 0.7, lambda 3.
    fn default() -> Self {
        Self {
            beta: 0.7,
            lambda: 3.0,
        }
    }
}

impl ElrConfig {
    /// Validates `beta` in [0, 1) and `lambda >= 0` (both finite).
    pub fn validate(&self) -> Result<()> {
        check::half_open("beta", self.beta, 0.0, 1.0, "in [0, 1)")?;
        check::non_negative("lambda", self.lambda)
    }
}

/// Which regulariser gradient to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElrGrad {
    /// Through the clamp: saturated coordinates have zero derivative (matches autograd).
    #[default]
    Exact,
    /// The closed form `p_j (<t,p> - t_j) / (1 - <t,p>)` (no clamp).
    Analytic,
}

/// The three parts of the batch loss.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ElrLoss {
    /// Mean cross-entropy.
    pub ce: f64,
    /// Mean `log(1 - <t, Pc>)`.
    pub reg: f64,
    /// `ce + lambda * reg`.
    pub total: f64,
}

/// Shapes of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElrShape {
    /// Number of training examples `N` (rows of the target memory).
    pub examples: usize,
    /// Number of classes `C` (>= 2).
    pub classes: usize,
}

/// One ELR step on a batch: updates `targets` (N x C) for the batch ids, returns the loss and writes
/// `dL/dZ` (B x C) into `grad`. A batch of 0 gives a zero loss. Non-finite logits are rejected with
/// [`Error::NonFinite`] before anything is written.
#[allow(clippy::too_many_arguments)]
pub fn elr_step(
    cfg: &ElrConfig,
    mode: ElrGrad,
    shape: ElrShape,
    targets: &mut [f64],
    ids: &[u32],
    logits: &[f64],
    labels: &[u32],
    grad: &mut [f64],
) -> Result<ElrLoss> {
    cfg.validate()?;
    let (n, c) = (shape.examples, shape.classes);
    if c < 2 {
        return Err(Error::invalid("classes", c as f64, "an integer >= 2"));
    }
    check::same_len("ELR targets (N * C)", n * c, targets.len())?;
    let b = ids.len();
    check::same_len("ELR labels", b, labels.len())?;
    check::same_len("ELR logits (B * C)", b * c, logits.len())?;
    check::same_len("ELR grad (B * C)", b * c, grad.len())?;
    if let Some(&bad) = ids.iter().find(|&&i| i as usize >= n) {
        return Err(Error::invalid(
            "example id",
            bad as f64,
            "below the number of examples N",
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y as usize >= c) {
        return Err(Error::invalid("label", bad as f64, "a class index below C"));
    }
    check::all_finite_f64("ELR logits", logits)?;
    if b == 0 {
        return Ok(ElrLoss::default());
    }
    let inv_b = 1.0 / b as f64;
    let (mut ce, mut reg) = (0.0, 0.0);
    for (bi, (&id, &y)) in ids.iter().zip(labels).enumerate() {
        let z = &logits[bi * c..(bi + 1) * c];
        let g = &mut grad[bi * c..(bi + 1) * c];
        // Softmax into g (p), log-sum-exp for CE.
        let zmax = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for (gj, &zj) in g.iter_mut().zip(z) {
            *gj = libm::exp(zj - zmax);
            s += *gj;
        }
        g.iter_mut().for_each(|v| *v /= s);
        let y = y as usize;
        ce += -(z[y] - zmax - libm::log(s));
        // Target update with the clamped, renormalised prediction.
        let t = &mut targets[id as usize * c..(id as usize + 1) * c];
        let pc_sum: f64 = g.iter().map(|&p| p.clamp(CLAMP_LO, CLAMP_HI)).sum();
        for (tk, &p) in t.iter_mut().zip(g.iter()) {
            *tk = cfg.beta * *tk + (1.0 - cfg.beta) * p.clamp(CLAMP_LO, CLAMP_HI) / pc_sum;
        }
        let inner_c: f64 = t
            .iter()
            .zip(g.iter())
            .map(|(tk, &p)| tk * p.clamp(CLAMP_LO, CLAMP_HI))
            .sum();
        let one_minus = (1.0 - inner_c).max(f64::MIN_POSITIVE);
        reg += libm::log(one_minus);
        // Gradient: CE part + lambda * REG part, per example scaled by 1/B.
        let lam = cfg.lambda;
        match mode {
            ElrGrad::Analytic => {
                let inner: f64 = t.iter().zip(g.iter()).map(|(tk, p)| tk * p).sum();
                let den = (1.0 - inner).max(f64::MIN_POSITIVE);
                for (j, gj) in g.iter_mut().enumerate() {
                    let p = *gj;
                    let dreg = p * (inner - t[j]) / den;
                    let dce = p - if j == y { 1.0 } else { 0.0 };
                    *gj = (dce + lam * dreg) * inv_b;
                }
            }
            ElrGrad::Exact => {
                // sum_k g_k p_k with g_k = -t_k m_k / (1 - <t,Pc>).
                let gk = |k: usize, p: f64| {
                    if p > CLAMP_LO && p < CLAMP_HI {
                        -t[k] / one_minus
                    } else {
                        0.0
                    }
                };
                let gp: f64 = g.iter().enumerate().map(|(k, &p)| gk(k, p) * p).sum();
                for (j, gj) in g.iter_mut().enumerate() {
                    let p = *gj;
                    let dreg = p * (gk(j, p) - gp);
                    let dce = p - if j == y { 1.0 } else { 0.0 };
                    *gj = (dce + lam * dreg) * inv_b;
                }
            }
        }
    }
    let (ce, reg) = (ce * inv_b, reg * inv_b);
    let total = if cfg.lambda == 0.0 {
        ce
    } else {
        ce + cfg.lambda * reg
    };
    Ok(ElrLoss { ce, reg, total })
}

/// ELR+'s `sigmoid_rampup(t, L) = exp(-5 (1 - clip(t, 0, L) / L)^2)`, 1 when `L = 0`.
pub fn sigmoid_rampup(t: f64, len: f64) -> Result<f64> {
    check::non_negative("rampup length", len)?;
    check::finite("t", t)?;
    if len == 0.0 {
        return Ok(1.0);
    }
    let phase = 1.0 - t.clamp(0.0, len) / len;
    Ok(libm::exp(-5.0 * phase * phase))
}

/// ELR+'s mixed target `q = lam * t_a + (1 - lam) * t_b` (rows of the target memory of an example
/// and of its mixup partner), `lam` in [0, 1].
pub fn mix_targets(lam: f64, t_a: &[f64], t_b: &[f64], out: &mut [f64]) -> Result<()> {
    check::closed("mixup lambda", lam, 0.0, 1.0, "in [0, 1]")?;
    check::same_len("mix_targets t_b", t_a.len(), t_b.len())?;
    check::same_len("mix_targets out", t_a.len(), out.len())?;
    for ((o, a), b) in out.iter_mut().zip(t_a).zip(t_b) {
        *o = lam * a + (1.0 - lam) * b;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "[{i}] {x} vs {y}");
        }
    }

    /// One example, B = 1: returns (loss, t_new, grad).
    fn one<const C: usize>(
        z: [f64; C],
        y: u32,
        t_prev: [f64; C],
        beta: f64,
        lambda: f64,
        mode: ElrGrad,
    ) -> (ElrLoss, [f64; C], [f64; C]) {
        let mut t = t_prev;
        let mut g = [0.0; C];
        let l = elr_step(
            &ElrConfig { beta, lambda },
            mode,
            ElrShape {
                examples: 1,
                classes: C,
            },
            &mut t,
            &[0],
            &z,
            &[y],
            &mut g,
        )
        .unwrap();
        (l, t, g)
    }

    /// The loss as a function of z with the (already updated) target held fixed, for finite differences.
    fn loss_fixed_t(z: &[f64], y: usize, t: &[f64], lambda: f64) -> f64 {
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        let p: Vec<f64> = z.iter().map(|v| (v - m).exp() / s).collect();
        let inner: f64 = t
            .iter()
            .zip(&p)
            .map(|(a, b)| a * b.clamp(CLAMP_LO, CLAMP_HI))
            .sum();
        -(z[y] - m - s.ln()) + lambda * (1.0 - inner).ln()
    }
    extern crate std;
    use std::vec::Vec;

    /// Minimal parser for `"key": [numbers]` / `"key": number` in an oracle JSON (no serde in the core).
    fn parse(text: &str, key: &str) -> Vec<f64> {
        let pat = std::format!("\"{key}\":");
        let start = text.find(&pat).expect("key") + pat.len();
        let rest = text[start..].trim_start();
        let body = if let Some(r) = rest.strip_prefix('[') {
            &r[..r.find(']').unwrap()]
        } else {
            &rest[..rest.find([',', '\n', '}']).unwrap()]
        };
        body.split(',')
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| v.parse().unwrap())
            .collect()
    }

    #[test]
    fn matches_torch_autograd_with_clamp_and_repeated_id() {
        let text = include_str!("../../../fixtures/oracle/robust_elr_autograd.json");
        let ids: Vec<u32> = parse(text, "ids").iter().map(|&v| v as u32).collect();
        let labels: Vec<u32> = parse(text, "labels").iter().map(|&v| v as u32).collect();
        let logits = parse(text, "logits");
        let mut t = parse(text, "targets_init");
        let mut g = std::vec![0.0; logits.len()];
        let cfg = ElrConfig {
            beta: parse(text, "beta")[0],
            lambda: parse(text, "lambda")[0],
        };
        let shape = ElrShape {
            examples: 3,
            classes: 4,
        };
        let l = elr_step(
            &cfg,
            ElrGrad::Exact,
            shape,
            &mut t,
            &ids,
            &logits,
            &labels,
            &mut g,
        )
        .unwrap();
        assert!((l.ce - parse(text, "ce")[0]).abs() < 1e-12);
        assert!((l.reg - parse(text, "reg")[0]).abs() < 1e-12);
        assert!((l.total - parse(text, "loss")[0]).abs() < 1e-12);
        close(&g, &parse(text, "grad"), 1e-12);
        close(&t, &parse(text, "targets_after"), 1e-12);
        // The analytic gradient ignores the clamp: it differs on the saturated rows.
        let mut t2 = parse(text, "targets_init");
        let mut ga = std::vec![0.0; logits.len()];
        elr_step(
            &cfg,
            ElrGrad::Analytic,
            shape,
            &mut t2,
            &ids,
            &logits,
            &labels,
            &mut ga,
        )
        .unwrap();
        assert!(ga[4..8]
            .iter()
            .zip(&g[4..8])
            .any(|(a, b)| (a - b).abs() > 1e-9));
    }

    #[test]
    fn golden_case_1() {
        let (l, t, g) = one([2.0, 1.0, 0.1], 0, [0.0; 3], 0.7, 3.0, ElrGrad::Exact);
        close(&t, &[0.19770034, 0.07272989, 0.02956977], 1e-8);
        assert!((l.ce - 0.41703002).abs() < 1e-8);
        assert!((l.reg - -0.16349758).abs() < 1e-8);
        assert!((l.total - -0.07346272).abs() < 1e-8);
        close(&g, &[-0.45011733, 0.30932567, 0.14079166], 1e-8);
        let (_, _, ga) = one([2.0, 1.0, 0.1], 0, [0.0; 3], 0.7, 3.0, ElrGrad::Analytic);
        close(&ga, &g, 1e-14);
        // dREG alone = (dL - dCE) / lambda.
        let p = [0.65900114, 0.24243297, 0.09856589];
        let dreg: Vec<f64> = (0..3)
            .map(|j| (g[j] - (p[j] - if j == 0 { 1.0 } else { 0.0 })) / 3.0)
            .collect();
        close(&dreg, &[-0.03637282, 0.02229757, 0.01407526], 1e-8);
    }

    #[test]
    fn golden_case_2() {
        let (l, t, g) = one(
            [0.5, -1.0, 2.0, 0.0],
            1,
            [0.1, 0.2, 0.6, 0.1],
            0.9,
            7.0,
            ElrGrad::Exact,
        );
        close(&t, &[0.10584447, 0.18353538, 0.61100999, 0.09961016], 1e-8);
        assert!((l.ce - 3.34234958).abs() < 1e-8);
        assert!((l.reg - -0.62868993).abs() < 1e-8);
        assert!((l.total - -1.05847993).abs() < 1e-7);
        close(
            &g,
            &[0.90895692, -0.83323725, -0.63489409, 0.55917442],
            1e-8,
        );
    }

    #[test]
    fn golden_case_3_uniform() {
        let u = 1.0 / 3.0;
        let (l, t, g) = one([1.0, 1.0, 1.0], 2, [u; 3], 0.7, 3.0, ElrGrad::Exact);
        close(&t, &[u; 3], 1e-15);
        assert!((l.ce - 3f64.ln()).abs() < 1e-14);
        assert!((l.reg - (2.0f64 / 3.0).ln()).abs() < 1e-14);
        assert!((l.total - -0.11778304).abs() < 1e-8);
        close(&g, &[u, u, -2.0 * u], 1e-15);
    }

    #[test]
    fn finite_differences_and_gradient_sums_to_zero() {
        let cases: [([f64; 4], u32, [f64; 4]); 3] = [
            ([0.3, -1.2, 2.0, 0.5], 0, [0.2, 0.1, 0.5, 0.1]),
            ([1.0, 0.0, -0.5, 0.7], 3, [0.0; 4]),
            ([-2.0, 3.0, 0.1, 0.0], 2, [0.05, 0.7, 0.05, 0.1]),
        ];
        for (z, y, tp) in cases {
            let (_, t, g) = one(z, y, tp, 0.7, 3.0, ElrGrad::Exact);
            let h = 1e-6;
            for j in 0..4 {
                let (mut zp, mut zm) = (z, z);
                zp[j] += h;
                zm[j] -= h;
                let fd = (loss_fixed_t(&zp, y as usize, &t, 3.0)
                    - loss_fixed_t(&zm, y as usize, &t, 3.0))
                    / (2.0 * h);
                assert!((fd - g[j]).abs() < 2e-9, "{j}: fd {fd} vs {}", g[j]);
            }
            assert!(g.iter().sum::<f64>().abs() < 1e-12);
        }
    }

    #[test]
    fn exact_masks_saturated_coordinates() {
        // p_0 ~ 1 - 2e-9 > 1 - 1e-4: saturated; others < 1e-4. The exact gradient of REG vanishes
        // (every coordinate is clamped); finite differences of the clamped loss agree; the analytic
        // one does not vanish.
        let z = [20.0, 0.0, 0.0];
        let (l0, t, g) = one(z, 0, [0.5, 0.2, 0.1], 0.7, 3.0, ElrGrad::Exact);
        let (_, _, gce) = one(z, 0, [0.5, 0.2, 0.1], 0.7, 0.0, ElrGrad::Exact);
        close(&g, &gce, 1e-15);
        let h = 1e-6;
        for j in 0..3 {
            let (mut zp, mut zm) = (z, z);
            zp[j] += h;
            zm[j] -= h;
            let fd = (loss_fixed_t(&zp, 0, &t, 3.0) - loss_fixed_t(&zm, 0, &t, 3.0)) / (2.0 * h);
            assert!((fd - g[j]).abs() < 1e-8);
        }
        let (_, _, ga) = one(z, 0, [0.5, 0.2, 0.1], 0.7, 3.0, ElrGrad::Analytic);
        assert!(ga.iter().zip(&g).any(|(a, b)| (a - b).abs() > 1e-12));
        assert!(l0.total.is_finite());
    }

    #[test]
    fn target_rows_sum_to_one_minus_beta_k_and_lambda_zero_is_ce() {
        let beta = 0.7;
        let mut t = [0.0; 6]; // N = 2, C = 3
        let mut g = [0.0; 6];
        let cfg = ElrConfig { beta, lambda: 3.0 };
        let shape = ElrShape {
            examples: 2,
            classes: 3,
        };
        for k in 1..=5 {
            let z = [0.1 * k as f64, -0.3, 0.4, 1.0, 2.0, -1.0];
            elr_step(
                &cfg,
                ElrGrad::Exact,
                shape,
                &mut t,
                &[1, 0],
                &z,
                &[0, 2],
                &mut g,
            )
            .unwrap();
            for row in t.chunks(3) {
                assert!((row.iter().sum::<f64>() - (1.0 - beta.powi(k))).abs() < 1e-12);
                assert!(row.iter().all(|&v| v >= 0.0));
            }
        }
        let z = [0.3, -0.3, 0.4];
        let mut t0 = [0.2, 0.3, 0.1];
        let mut g0 = [0.0; 3];
        let l0 = elr_step(
            &ElrConfig { beta, lambda: 0.0 },
            ElrGrad::Exact,
            ElrShape {
                examples: 1,
                classes: 3,
            },
            &mut t0,
            &[0],
            &z,
            &[1],
            &mut g0,
        )
        .unwrap();
        assert_eq!(l0.total.to_bits(), l0.ce.to_bits());
        // Empty batch.
        let l = elr_step(&cfg, ElrGrad::Exact, shape, &mut t, &[], &[], &[], &mut []).unwrap();
        assert_eq!(l, ElrLoss::default());
    }

    #[test]
    fn t_equal_p_identity() {
        // If t = p: dREG/dz_j = p_j (|p|^2 - p_j) / (1 - |p|^2); set beta -> t_new = p requires
        // t_prev = p with renormalised Pc (no clamp active, rows of p sum to 1).
        let z = [0.2, 1.1, -0.4];
        let m = 1.1f64;
        let s: f64 = z.iter().map(|v: &f64| (v - m).exp()).sum();
        let p: [f64; 3] = core::array::from_fn(|j| (z[j] - m).exp() / s);
        let (_, t, g) = one(z, 0, p, 0.7, 1.0, ElrGrad::Analytic);
        close(&t, &p, 1e-15);
        let pp: f64 = p.iter().map(|v| v * v).sum();
        for j in 0..3 {
            let dce = p[j] - if j == 0 { 1.0 } else { 0.0 };
            let want = p[j] * (pp - p[j]) / (1.0 - pp);
            assert!((g[j] - dce - want).abs() < 1e-14);
        }
    }

    #[test]
    fn bad_input_is_typed() {
        let mut t = [0.0; 3];
        let mut g = [0.0; 3];
        let shape = ElrShape {
            examples: 1,
            classes: 3,
        };
        let z = [0.0, 1.0, 2.0];
        for (cfg, name) in [
            (
                ElrConfig {
                    beta: 1.0,
                    lambda: 3.0,
                },
                "beta",
            ),
            (
                ElrConfig {
                    beta: -0.1,
                    lambda: 3.0,
                },
                "beta",
            ),
            (
                ElrConfig {
                    beta: 0.7,
                    lambda: -1.0,
                },
                "lambda",
            ),
            (
                ElrConfig {
                    beta: 0.7,
                    lambda: f64::NAN,
                },
                "lambda",
            ),
        ] {
            assert!(matches!(
                elr_step(&cfg, ElrGrad::Exact, shape, &mut t, &[0], &z, &[0], &mut g),
                Err(Error::InvalidParam { name: n, .. }) if n == name
            ));
        }
        let cfg = ElrConfig::default();
        assert!(matches!(
            elr_step(&cfg, ElrGrad::Exact, shape, &mut t, &[1], &z, &[0], &mut g),
            Err(Error::InvalidParam {
                name: "example id",
                ..
            })
        ));
        assert!(matches!(
            elr_step(&cfg, ElrGrad::Exact, shape, &mut t, &[0], &z, &[3], &mut g),
            Err(Error::InvalidParam { name: "label", .. })
        ));
        assert!(matches!(
            elr_step(
                &cfg,
                ElrGrad::Exact,
                ElrShape {
                    examples: 1,
                    classes: 1
                },
                &mut t[..1],
                &[0],
                &z[..1],
                &[0],
                &mut g[..1]
            ),
            Err(Error::InvalidParam {
                name: "classes",
                ..
            })
        ));
        let zn = [0.0, f64::NAN, 2.0];
        assert!(matches!(
            elr_step(&cfg, ElrGrad::Exact, shape, &mut t, &[0], &zn, &[0], &mut g),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(t, [0.0; 3], "nothing written on error");
        assert!(sigmoid_rampup(1.0, -1.0).is_err());
        assert!(mix_targets(1.5, &[0.0], &[0.0], &mut [0.0]).is_err());
    }

    #[test]
    fn elr_plus_helpers() {
        assert_eq!(sigmoid_rampup(5.0, 0.0).unwrap(), 1.0);
        assert!((sigmoid_rampup(0.0, 10.0).unwrap() - (-5.0f64).exp()).abs() < 1e-15);
        assert_eq!(sigmoid_rampup(20.0, 10.0).unwrap(), 1.0);
        assert!((sigmoid_rampup(5.0, 10.0).unwrap() - (-1.25f64).exp()).abs() < 1e-15);
        let mut q = [0.0; 2];
        mix_targets(0.75, &[1.0, 0.0], &[0.0, 1.0], &mut q).unwrap();
        assert_eq!(q, [0.75, 0.25]);
    }
}
