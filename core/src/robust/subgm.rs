//! SubGM: the sub-gradient method on the l1 loss of over-parameterised, factorised matrix sensing,
//! from a small initialisation, with geometrically decaying step sizes.
//!
//! Paper: J. Ma, S. Fattahi, "Global Convergence of Sub-gradient Method for Robust Matrix Recovery:
//! Small Initialization, Noisy Measurements, and Over-parameterization", 2022, arXiv 2202.08788.
//!
//! Formulas (spec 19, sections 2-5), `U` is `d x r'` row-major:
//! ```text
//! X     = U U^T
//! res_i = <A_i, X> - y_i
//! f(U)  = (1/m) sum_i |res_i|                         (LossKind::L1)
//!       = (1/(2m)) sum_i res_i^2                      (LossKind::L2, non-robust baseline)
//! w_i   = sign(res_i) / m  (sign(0) = 0)  |  res_i / m
//! G     = sum_i w_i (A_i + A_i^T)                      (symmetric d x d)
//! Q(U)  = G U                                          (Clarke sub-gradient of f at U)
//! U_{t+1} = U_t - eta_t Q(U_t),  eta_t = eta_0 rho^t   (Schedule::Geometric)
//! U_0   = alpha B,  B = N(0, 1)^{d x r'} / sqrt(d)     (small_init)
//! rel_err(U) = ||U U^T - X*||_F / ||X*||_F,   perp(U) = ||(I - P_{U*}) U||_F
//! ```
//! Cost per iteration: two `[m, d^2]` matrix-vector products (`2 m d^2` multiply-adds, the heavy
//! part, run through [`Backend::gemm`] by [`SensingOperator`]) plus `O(d^2 r')` on the host.
//! [`loss_and_subgradient`] is the allocation-free `f64` reference of the same map on slices.

use crate::error::{check, Error, Result};
use crate::rng::seq;
use rand_core::Rng;

#[cfg(feature = "alloc")]
use crate::backend::{Backend, Transpose};
#[cfg(feature = "alloc")]
use alloc::vec::Vec;

/// Which objective the method descends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Robust `f(U) = mean |res_i|` with sign sub-gradient.
    L1,
    /// Least squares `f(U) = mean res_i^2 / 2` with its gradient (non-robust baseline).
    L2,
}

/// Step-size rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// `eta_t = eta`.
    Constant {
        /// Step size (> 0).
        eta: f64,
    },
    /// `eta_t = eta0 * rho^t` (the paper's exponentially decaying step size).
    Geometric {
        /// Initial step (> 0).
        eta0: f64,
        /// Decay factor in (0, 1).
        rho: f64,
    },
    /// Polyak: `eta_t = (f(U_t) - f_star) / ||Q_t||_F^2` (0 when `Q_t = 0` or `f <= f_star`).
    Polyak {
        /// The optimal value (or a lower bound), `>= 0`.
        f_star: f64,
    },
}

impl Schedule {
    /// Validates the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant { eta } => check::positive("eta", eta),
            Schedule::Geometric { eta0, rho } => {
                check::positive("eta0", eta0)?;
                check::open("rho", rho, 0.0, 1.0, "in (0, 1)")
            }
            Schedule::Polyak { f_star } => check::non_negative("f_star", f_star),
        }
    }

    /// The step at iteration `t` given the current loss and `||Q_t||_F^2`.
    pub fn step(&self, t: usize, f: f64, q_norm2: f64) -> f64 {
        match *self {
            Schedule::Constant { eta } => eta,
            Schedule::Geometric { eta0, rho } => eta0 * libm::pow(rho, t as f64),
            Schedule::Polyak { f_star } => {
                if q_norm2 > 0.0 && f > f_star {
                    (f - f_star) / q_norm2
                } else {
                    0.0
                }
            }
        }
    }
}

/// `sign(x)` with `sign(0) = 0`.
#[inline]
pub fn sign0(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn check_factor(u: &[f64], d: usize, rp: usize) -> Result<()> {
    check::nonzero("r'", rp)?;
    check::nonzero("d", d)?;
    check::same_len("factor U (d * r')", d * rp, u.len())?;
    check::all_finite_f64("factor U", u)
}

/// The per-measurement weight `w_i` of `G = sum_i w_i (A_i + A_i^T)` and the loss term.
#[inline]
fn weight(kind: LossKind, res: f64, m: f64) -> (f64, f64) {
    match kind {
        LossKind::L1 => (sign0(res) / m, libm::fabs(res) / m),
        LossKind::L2 => (res / m, 0.5 * res * res / m),
    }
}

/// `Q = (M + M^T) U` from `M` (d x d) into `q` (d x r'); `g` receives the symmetric `G`.
fn finish_q(mmat: &[f64], d: usize, u: &[f64], rp: usize, g: &mut [f64], q: &mut [f64]) {
    for i in 0..d {
        for j in 0..d {
            g[i * d + j] = mmat[i * d + j] + mmat[j * d + i];
        }
    }
    for i in 0..d {
        for c in 0..rp {
            let mut s = 0.0;
            for k in 0..d {
                s += g[i * d + k] * u[k * rp + c];
            }
            q[i * rp + c] = s;
        }
    }
}

/// Allocation-free `f64` reference: returns `f(U)` and writes `G` (`d x d`) and `Q(U)` (`d x r'`).
/// `a` holds the `m` matrices `[m, d*d]`; `x` (`d*d`) and `m_scratch` (`d*d`) are scratch.
#[allow(clippy::too_many_arguments)]
pub fn loss_and_subgradient(
    kind: LossKind,
    a: &[f64],
    y: &[f64],
    d: usize,
    u: &[f64],
    rp: usize,
    x: &mut [f64],
    m_scratch: &mut [f64],
    g: &mut [f64],
    q: &mut [f64],
) -> Result<f64> {
    check_factor(u, d, rp)?;
    let m = y.len();
    check::nonzero("m (measurements)", m)?;
    let dd = d * d;
    check::same_len("measurements A (m * d^2)", m * dd, a.len())?;
    check::same_len("scratch x", dd, x.len())?;
    check::same_len("scratch m", dd, m_scratch.len())?;
    check::same_len("G", dd, g.len())?;
    check::same_len("Q", d * rp, q.len())?;
    super::sensing::outer_gram(u, d, rp, x)?;
    m_scratch.fill(0.0);
    let mf = m as f64;
    let mut f = 0.0;
    for (ai, &yi) in a.chunks_exact(dd).zip(y) {
        let res: f64 = ai.iter().zip(x.iter()).map(|(p, q)| p * q).sum::<f64>() - yi;
        let (w, l) = weight(kind, res, mf);
        f += l;
        if w != 0.0 {
            m_scratch.iter_mut().zip(ai).for_each(|(s, v)| *s += w * v);
        }
    }
    finish_q(m_scratch, d, u, rp, g, q);
    Ok(f)
}

/// `U_0 = alpha * B` with `B = N(0,1)^{d x r'} / sqrt(d)`, written into `u` (`d * r'`).
pub fn small_init<R: Rng + ?Sized>(
    rng: &mut R,
    d: usize,
    rp: usize,
    alpha: f64,
    u: &mut [f64],
) -> Result<()> {
    check::nonzero("d", d)?;
    check::nonzero("r'", rp)?;
    check::positive("alpha", alpha)?;
    check::same_len("small_init U", d * rp, u.len())?;
    seq::fill_gaussian_f64(rng, alpha / libm::sqrt(d as f64), u)
}

/// `||U U^T - X*||_F / ||X*||_F`; `x` is `d*d` scratch.
pub fn rel_err(u: &[f64], d: usize, rp: usize, x_star: &[f64], x: &mut [f64]) -> Result<f64> {
    check::same_len("X*", d * d, x_star.len())?;
    super::sensing::outer_gram(u, d, rp, x)?;
    let num: f64 = x.iter().zip(x_star).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = x_star.iter().map(|v| v * v).sum();
    if den.is_nan() || den <= 0.0 {
        return Err(Error::invalid("X*", den, "a non-zero matrix"));
    }
    Ok(libm::sqrt(num / den))
}

/// `||(I - B B^T) U||_F` for an orthonormal basis `basis` (`d x r`, e.g. the orthonormalised `U*`):
/// the size of `U`'s component outside the true column space (the over-parameterised residual).
pub fn perp_residual(u: &[f64], d: usize, rp: usize, basis: &[f64], r: usize) -> Result<f64> {
    check::same_len("U", d * rp, u.len())?;
    check::same_len("basis", d * r, basis.len())?;
    let mut total = 0.0;
    for c in 0..rp {
        // coefficients b_k = <basis_k, u_c> for k < r, computed on the fly (no scratch).
        let mut sq = 0.0;
        for i in 0..d {
            let mut proj = 0.0;
            for k in 0..r {
                let bk: f64 = (0..d).map(|j| basis[j * r + k] * u[j * rp + c]).sum();
                proj += basis[i * r + k] * bk;
            }
            let v = u[i * rp + c] - proj;
            sq += v * v;
        }
        total += sq;
    }
    Ok(libm::sqrt(total))
}

/// The measurement operator `X -> (<A_i, X>)_i` and its adjoint `w -> sum_i w_i A_i` on a
/// [`Backend`]: `A` lives there as one `[m, d^2]` `f32` matrix, and both maps are gemm calls.
#[cfg(feature = "alloc")]
pub struct SensingOperator<B: Backend> {
    a: B::Buf<f32>,
    xv: B::Buf<f32>,
    res: B::Buf<f32>,
    wv: B::Buf<f32>,
    gv: B::Buf<f32>,
    host_dd: Vec<f32>,
    host_m: Vec<f32>,
    y: Vec<f64>,
    d: usize,
    m: usize,
}

#[cfg(feature = "alloc")]
impl<B: Backend> SensingOperator<B> {
    /// Uploads `a` (`[m, d*d]`, converted to `f32`) and keeps `y`.
    pub fn new(be: &B, a: &[f64], y: &[f64], d: usize) -> Result<Self> {
        check::nonzero("d", d)?;
        let m = y.len();
        check::nonzero("m (measurements)", m)?;
        check::same_len("measurements A (m * d^2)", m * d * d, a.len())?;
        check::all_finite_f64("measurements y", y)?;
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        Ok(Self {
            a: be.upload(&a32)?,
            xv: be.alloc(d * d)?,
            res: be.alloc(m)?,
            wv: be.alloc(m)?,
            gv: be.alloc(d * d)?,
            host_dd: alloc::vec![0.0; d * d],
            host_m: alloc::vec![0.0; m],
            y: y.to_vec(),
            d,
            m,
        })
    }

    /// Matrix dimension `d`.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Number of measurements `m`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// `f(U)`, and `G`, `Q(U)` written like [`loss_and_subgradient`]; `x` is `d*d` scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_subgradient(
        &mut self,
        be: &B,
        kind: LossKind,
        u: &[f64],
        rp: usize,
        x: &mut [f64],
        g: &mut [f64],
        q: &mut [f64],
    ) -> Result<f64> {
        let (d, m) = (self.d, self.m);
        check_factor(u, d, rp)?;
        check::same_len("scratch x", d * d, x.len())?;
        check::same_len("G", d * d, g.len())?;
        check::same_len("Q", d * rp, q.len())?;
        super::sensing::outer_gram(u, d, rp, x)?;
        self.host_dd
            .iter_mut()
            .zip(x.iter())
            .for_each(|(h, &v)| *h = v as f32);
        be.write(&self.host_dd, &mut self.xv)?;
        let dd = d * d;
        be.gemm(
            Transpose::No,
            Transpose::No,
            m,
            1,
            dd,
            1.0,
            &self.a,
            &self.xv,
            0.0,
            &mut self.res,
        )?;
        be.download(&self.res, &mut self.host_m)?;
        let mf = m as f64;
        let mut f = 0.0;
        for (h, &yi) in self.host_m.iter_mut().zip(&self.y) {
            let (w, l) = weight(kind, *h as f64 - yi, mf);
            f += l;
            *h = w as f32;
        }
        be.write(&self.host_m, &mut self.wv)?;
        be.gemm(
            Transpose::Yes,
            Transpose::No,
            dd,
            1,
            m,
            1.0,
            &self.a,
            &self.wv,
            0.0,
            &mut self.gv,
        )?;
        be.download(&self.gv, &mut self.host_dd)?;
        // M = sum_i w_i A_i into the scratch x, then G = M + M^T and Q = G U.
        x.iter_mut()
            .zip(&self.host_dd)
            .for_each(|(xv, &h)| *xv = h as f64);
        finish_q(x, d, u, rp, g, q);
        if !f.is_finite() {
            return Err(Error::NonFinite {
                what: "l1 loss",
                index: 0,
            });
        }
        Ok(f)
    }
}

/// SubGM run parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubgmConfig {
    /// Objective.
    pub loss: LossKind,
    /// Step sizes.
    pub schedule: Schedule,
    /// Iterations `T >= 1`.
    pub iters: usize,
    /// Record a trace point every this many iterations (and the last one); `>= 1`.
    pub trace_every: usize,
}

impl SubgmConfig {
    /// Validates every field.
    pub fn validate(&self) -> Result<()> {
        self.schedule.validate()?;
        check::nonzero("iters", self.iters)?;
        check::nonzero("trace_every", self.trace_every)
    }
}

/// One recorded iterate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePoint {
    /// Iteration `t` (the iterate `U_t`).
    pub iter: usize,
    /// `f(U_t)`.
    pub loss: f64,
    /// `rel_err(U_t)` (NaN when no truth was given).
    pub rel_err: f64,
    /// `||P_perp U_t||_F` (NaN when no truth was given).
    pub perp: f64,
}

/// The ground truth for the metrics: `X*` and an orthonormal basis of its column space (`d x r`).
#[derive(Debug, Clone, Copy)]
pub struct Truth<'a> {
    /// `X*`, `d x d`.
    pub x_star: &'a [f64],
    /// Orthonormal basis of `col(X*)`, `d x r`.
    pub basis: &'a [f64],
    /// Rank `r`.
    pub r: usize,
}

/// Runs `cfg.iters` sub-gradient steps from `u` (updated in place, `d x r'`). Returns the trace.
/// A non-finite iterate stops the run with [`Error::NonFinite`] (`index` = the iteration).
#[cfg(feature = "alloc")]
pub fn run<B: Backend>(
    be: &B,
    op: &mut SensingOperator<B>,
    u: &mut [f64],
    rp: usize,
    cfg: &SubgmConfig,
    truth: Option<Truth<'_>>,
) -> Result<Vec<TracePoint>> {
    cfg.validate()?;
    let d = op.d();
    check_factor(u, d, rp)?;
    let mut x = alloc::vec![0.0; d * d];
    let mut g = alloc::vec![0.0; d * d];
    let mut q = alloc::vec![0.0; d * rp];
    let mut trace = Vec::new();
    let metrics = |u: &[f64], x: &mut [f64]| -> Result<(f64, f64)> {
        match truth {
            Some(t) => Ok((
                rel_err(u, d, rp, t.x_star, x)?,
                perp_residual(u, d, rp, t.basis, t.r)?,
            )),
            None => Ok((f64::NAN, f64::NAN)),
        }
    };
    for t in 0..=cfg.iters {
        let f = op.loss_and_subgradient(be, cfg.loss, u, rp, &mut x, &mut g, &mut q)?;
        if t % cfg.trace_every == 0 || t == cfg.iters {
            let (re, perp) = metrics(u, &mut x)?;
            trace.push(TracePoint {
                iter: t,
                loss: f,
                rel_err: re,
                perp,
            });
        }
        if t == cfg.iters {
            break;
        }
        let qn2: f64 = q.iter().map(|v| v * v).sum();
        let eta = cfg.schedule.step(t, f, qn2);
        u.iter_mut().zip(&q).for_each(|(ui, qi)| *ui -= eta * qi);
        if u.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "SubGM iterate (iteration)",
                index: t + 1,
            });
        }
    }
    Ok(trace)
}

#[cfg(all(test, feature = "alloc"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::super::sensing::{orthonormalize_columns, Outlier, SensingProblem, SensingSpec};
    use super::*;
    use crate::backend::CpuBackend;
    use crate::rng::default_rng;
    use alloc::vec;
    use alloc::vec::Vec;

    fn close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "[{i}] {x} vs {y}");
        }
    }

    fn eval(
        kind: LossKind,
        a: &[f64],
        y: &[f64],
        d: usize,
        u: &[f64],
        rp: usize,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let (mut x, mut ms, mut g, mut q) = (
            vec![0.0; d * d],
            vec![0.0; d * d],
            vec![0.0; d * d],
            vec![0.0; d * rp],
        );
        let f =
            loss_and_subgradient(kind, a, y, d, u, rp, &mut x, &mut ms, &mut g, &mut q).unwrap();
        (f, g, q)
    }

    fn golden1() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let a = vec![1., 0., 0., 0., 0., 1., 0., 0., 1., 2., 3., -1.];
        (a, vec![0.5, 2.0, 1.0], vec![1., 0., 0.5, 1.])
    }

    #[test]
    fn golden_case_1() {
        let (a, y, u) = golden1();
        let (f, g, q) = eval(LossKind::L1, &a, &y, 2, &u, 2);
        assert!((f - 1.0833333333).abs() < 1e-9);
        close(&g, &[4. / 3., 4. / 3., 4. / 3., -2. / 3.], 1e-12);
        close(&q, &[2.0, 1.3333333333, 1.0, -0.6666666667], 1e-9);
        // Backend operator (f32 gemm) agrees to f32 precision.
        let be = CpuBackend::new();
        let mut op = SensingOperator::new(&be, &a, &y, 2).unwrap();
        let (mut x, mut g2, mut q2) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4]);
        let f2 = op
            .loss_and_subgradient(&be, LossKind::L1, &u, 2, &mut x, &mut g2, &mut q2)
            .unwrap();
        assert!((f2 - f).abs() < 1e-6);
        close(&q2, &q, 1e-6);
    }

    #[test]
    fn golden_case_2_sign_zero_and_one_step() {
        let a = vec![1., 0., 0., 1., 0., 1., -1., 0., 2., 0., 0., 0.];
        let y = vec![2.0, 0.0, 5.0];
        let u = vec![1.0, 1.0];
        let (f, _, q) = eval(LossKind::L1, &a, &y, 2, &u, 1);
        assert_eq!(f, 1.0);
        close(&q, &[-1.3333333333, 0.0], 1e-9);
        let be = CpuBackend::new();
        let mut op = SensingOperator::new(&be, &a, &y, 2).unwrap();
        let mut u1 = u.clone();
        let cfg = SubgmConfig {
            loss: LossKind::L1,
            schedule: Schedule::Constant { eta: 0.1 },
            iters: 1,
            trace_every: 1,
        };
        run(&be, &mut op, &mut u1, 1, &cfg, None).unwrap();
        close(&u1, &[1.1333333333, 1.0], 1e-7);
    }

    #[test]
    fn golden_case_3_schedule() {
        let s = Schedule::Geometric {
            eta0: 0.1,
            rho: 0.997,
        };
        for (t, want) in [
            (1, 0.0997),
            (10, 0.0970401777),
            (100, 0.0740484260),
            (1000, 0.0049563083),
        ] {
            assert!((s.step(t, 0.0, 0.0) - want).abs() < 1e-10, "{t}");
        }
        let total: f64 = (0..20000).map(|t| s.step(t, 0.0, 0.0)).sum();
        assert!((total - 33.3333333).abs() < 1e-6, "{total}");
    }

    #[test]
    fn golden_case_4_seeded_fixture() {
        // numpy default_rng(42) draws, stored as an oracle fixture (fixtures/oracle/robust_subgm_case4.json).
        let text = include_str!("../../../fixtures/oracle/robust_subgm_case4.json");
        let a = parse_array(text, "\"a\"");
        let y = parse_array(text, "\"y\"");
        let f_want = parse_array(text, "\"f_u0\"")[0];
        let qn_want = parse_array(text, "\"q_norm_u0\"")[0];
        assert_eq!(a.len(), 8 * 16);
        let u = vec![0.01; 8];
        let (f, _, q) = eval(LossKind::L1, &a, &y, 4, &u, 2);
        let qn: f64 = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            (f - 1.86874706).abs() < 1e-8 && (f - f_want).abs() < 1e-12,
            "{f}"
        );
        assert!(
            (qn - 0.02351813).abs() < 1e-8 && (qn - qn_want).abs() < 1e-12,
            "{qn}"
        );
    }

    /// Minimal parser for `"key": [numbers]` in the oracle JSON (the core has no serde).
    fn parse_array(text: &str, key: &str) -> Vec<f64> {
        let start = text.find(key).expect("key") + key.len();
        let rest = &text[start..];
        let open = rest.find('[').unwrap();
        let close = rest.find(']').unwrap();
        rest[open + 1..close]
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().unwrap())
            .collect()
    }

    fn random_problem(seed: u64, d: usize, m: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rng = default_rng(seed);
        let mut a = vec![0.0; m * d * d];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut a).unwrap();
        let mut y = vec![0.0; m];
        seq::fill_gaussian_f64(&mut rng, 2.0, &mut y).unwrap();
        (a, y)
    }

    #[test]
    fn rotation_equivariance_and_symmetry() {
        let (d, rp, m) = (4, 3, 30);
        let (a, y) = random_problem(3, d, m);
        let mut rng = default_rng(4);
        let mut u = vec![0.0; d * rp];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut u).unwrap();
        let mut r = vec![0.0; rp * rp];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut r).unwrap();
        orthonormalize_columns(&mut r, rp, rp).unwrap();
        let mul = |x: &[f64]| -> Vec<f64> {
            let mut o = vec![0.0; d * rp];
            for i in 0..d {
                for j in 0..rp {
                    o[i * rp + j] = (0..rp).map(|k| x[i * rp + k] * r[k * rp + j]).sum();
                }
            }
            o
        };
        let (f1, g, q1) = eval(LossKind::L1, &a, &y, d, &u, rp);
        let (f2, _, q2) = eval(LossKind::L1, &a, &y, d, &mul(&u), rp);
        assert!((f1 - f2).abs() < 1e-12);
        close(&q2, &mul(&q1), 1e-12);
        for i in 0..d {
            for j in 0..d {
                assert_eq!(g[i * d + j], g[j * d + i]);
            }
        }
        assert!(f1 >= 0.0);
    }

    #[test]
    fn directional_derivative_away_from_kinks() {
        let (d, rp, m) = (4, 2, 25);
        let (a, y) = random_problem(5, d, m);
        let mut rng = default_rng(6);
        let mut u = vec![0.0; d * rp];
        let mut v = vec![0.0; d * rp];
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut u).unwrap();
        seq::fill_gaussian_f64(&mut rng, 1.0, &mut v).unwrap();
        for kind in [LossKind::L1, LossKind::L2] {
            let (_, _, q) = eval(kind, &a, &y, d, &u, rp);
            let h = 1e-7;
            let up: Vec<f64> = u.iter().zip(&v).map(|(a, b)| a + h * b).collect();
            let um: Vec<f64> = u.iter().zip(&v).map(|(a, b)| a - h * b).collect();
            let fd =
                (eval(kind, &a, &y, d, &up, rp).0 - eval(kind, &a, &y, d, &um, rp).0) / (2.0 * h);
            let an: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
            assert!((fd - an).abs() < 1e-6, "{kind:?}: {fd} vs {an}");
        }
    }

    #[test]
    fn population_subgradient_is_sqrt_2_over_pi_direction() {
        // E[sign(<A, D>) A] = sqrt(2/pi) D / ||D||_F for Gaussian A (d = 3, 200000 draws).
        let d = 3;
        let mut rng = default_rng(11);
        let dm = [0.3, -1.0, 0.5, 0.2, 0.8, -0.4, 1.1, 0.0, -0.7];
        let dn: f64 = dm.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut acc = [0.0; 9];
        let n = 200_000;
        let mut a = [0.0; 9];
        for _ in 0..n {
            seq::fill_gaussian_f64(&mut rng, 1.0, &mut a).unwrap();
            let s = sign0(a.iter().zip(&dm).map(|(x, y)| x * y).sum());
            acc.iter_mut().zip(&a).for_each(|(o, v)| *o += s * v);
        }
        let c = (2.0 / core::f64::consts::PI).sqrt() / dn;
        let want: Vec<f64> = dm.iter().map(|v| c * v).collect();
        let err: f64 = acc
            .iter()
            .zip(&want)
            .map(|(x, w)| (x / n as f64 - w).powi(2))
            .sum::<f64>()
            .sqrt();
        let wn: f64 = want.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(err / wn < 1e-2, "{}", err / wn);
        let _ = d;
    }

    #[test]
    fn exact_parameterisation_recovers_without_outliers() {
        // Spec invariant: p = 0, alpha = 1e-3, r' = r, eta0 = 0.05, rho = 0.999, T = 6000 -> < 5e-4.
        // Smaller problem (d = 8, r = 2, m = 10 d r) to keep the test fast.
        let spec = SensingSpec {
            d: 8,
            r: 2,
            m: 160,
            p: 0.0,
            outlier: Outlier::Gaussian { std: 10.0 },
            sigma: 0.0,
        };
        let mut rng = default_rng(21);
        let pr = SensingProblem::sample(&mut rng, spec).unwrap();
        let mut basis = pr.u_star.clone();
        orthonormalize_columns(&mut basis, 8, 2).unwrap();
        let be = CpuBackend::new();
        let mut op = SensingOperator::new(&be, &pr.a, &pr.y, 8).unwrap();
        let mut u = vec![0.0; 16];
        small_init(&mut rng, 8, 2, 1e-3, &mut u).unwrap();
        let cfg = SubgmConfig {
            loss: LossKind::L1,
            schedule: Schedule::Geometric {
                eta0: 0.05,
                rho: 0.999,
            },
            iters: 6000,
            trace_every: 1000,
        };
        let tr = run(
            &be,
            &mut op,
            &mut u,
            2,
            &cfg,
            Some(Truth {
                x_star: &pr.x_star,
                basis: &basis,
                r: 2,
            }),
        )
        .unwrap();
        let last = tr.last().unwrap();
        assert!(last.rel_err < 5e-4, "{last:?}");
        assert!(tr[0].rel_err > 0.99);
    }

    #[test]
    fn bad_input_is_typed() {
        let (a, y, u) = golden1();
        let (mut x, mut ms, mut g, mut q) =
            (vec![0.0; 4], vec![0.0; 4], vec![0.0; 4], vec![0.0; 0]);
        assert!(matches!(
            loss_and_subgradient(
                LossKind::L1,
                &a,
                &y,
                2,
                &[],
                0,
                &mut x,
                &mut ms,
                &mut g,
                &mut q
            ),
            Err(Error::InvalidParam { name: "r'", .. })
        ));
        let mut q = vec![0.0; 4];
        let mut un = u.clone();
        un[1] = f64::NAN;
        assert!(matches!(
            loss_and_subgradient(
                LossKind::L1,
                &a,
                &y,
                2,
                &un,
                2,
                &mut x,
                &mut ms,
                &mut g,
                &mut q
            ),
            Err(Error::NonFinite { .. })
        ));
        for (s, name) in [
            (
                Schedule::Geometric {
                    eta0: 0.1,
                    rho: 1.0,
                },
                "rho",
            ),
            (
                Schedule::Geometric {
                    eta0: 0.1,
                    rho: 0.0,
                },
                "rho",
            ),
            (
                Schedule::Geometric {
                    eta0: -0.1,
                    rho: 0.9,
                },
                "eta0",
            ),
            (Schedule::Constant { eta: f64::NAN }, "eta"),
            (Schedule::Polyak { f_star: -1.0 }, "f_star"),
        ] {
            assert!(matches!(s.validate(), Err(Error::InvalidParam { name: n, .. }) if n == name));
        }
        let mut u0 = vec![0.0; 4];
        assert!(small_init(&mut default_rng(0), 2, 2, 0.0, &mut u0).is_err());
        assert!(small_init(&mut default_rng(0), 2, 0, 1e-3, &mut []).is_err());
        // Divergence is reported, not hidden: a huge constant step on the L2 loss blows up.
        let be = CpuBackend::new();
        let mut op = SensingOperator::new(&be, &a, &y, 2).unwrap();
        let mut u1 = u.clone();
        let cfg = SubgmConfig {
            loss: LossKind::L2,
            schedule: Schedule::Constant { eta: 1e3 },
            iters: 200,
            trace_every: 1,
        };
        assert!(matches!(
            run(&be, &mut op, &mut u1, 2, &cfg, None),
            Err(Error::NonFinite { .. })
        ));
    }
}
