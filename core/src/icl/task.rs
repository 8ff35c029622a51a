//! Noisy linear-regression prompts for in-context learning.
//!
//! Mahankali et al. 2023, "One Step of Gradient Descent is Provably the Optimal In-Context Learner
//! with One Layer of Linear Self-Attention" (arXiv 2307.03576), and Akyürek et al. 2022, "What
//! learning algorithm is in-context learning? Investigations with linear models" (arXiv 2211.15661).
//!
//! Per task: `w = w_scale · L_w z` with `z ~ N(0, I_d)` (so `w ~ N(0, w_scale^2 Sigma_w)`);
//! `x_1..x_n, x_q` iid `N(0, Sigma)` drawn as `L z`, `Sigma = L L^T`; labels
//! `y_i = f_w(x_i) + sigma eps_i`, `y_q = f_w(x_q) + sigma eps_q` (the query noise can be switched
//! off). Responses: linear `f_w(x) = w·x`; `Tanh`: `f_w(x) = sqrt(d) tanh(w·x)` (use
//! `w_scale = 1/sqrt(d)` for spec 01's Exp C); `Cubic`: `f_w(x) = w·x + c (w·x)^3`. Each nonlinear
//! family is odd in `w`, so the task law is symmetric under `w -> -w`.
//! `Sigma_w = Sigma^{-1}` (the paper's non-isotropic theorem) is drawn as `L^{-T} z`, a triangular
//! solve, never an explicit inverse. The von Oswald et al. 2022 variant draws
//! `x ~ U(-a/2, a/2)^d` instead ([`XCov::Uniform`]).
//!
//! Draw order per task (fixed, for reproducibility): `w` (d normals), then for each example `x_i`
//! (d normals) and `eps_i`, then `x_q` and `eps_q`. Cost: `(n+1)(d+1) + d` normals and
//! `O((n+1) d^2)` flops for a full `L` (`O((n+1) d)` for the identity).

use rand_core::Rng;

use crate::error::{check, Error, Result};
use crate::icl::chol::{lower_mul, lower_transpose_solve_in_place};
use crate::rng::seq;

/// Covariance of the inputs `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XCov<'a> {
    /// `Sigma = I`.
    Identity,
    /// `Sigma = L L^T` given by its lower Cholesky factor `L` (row-major `d x d`, see
    /// [`crate::icl::chol::cholesky_in_place`]).
    Chol(&'a [f64]),
    /// Not Gaussian: `x ~ U(-a/2, a/2)^d` (von Oswald et al. 2022, `input_range = a`), so
    /// `Sigma = (a^2 / 12) I`. The Gaussian closed forms for `eta*` do not apply (fourth moments
    /// differ); estimate the optimal step by Monte Carlo.
    Uniform(f64),
}

/// Covariance of the task vector `w` (before the `w_scale` factor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WCov<'a> {
    /// `Sigma_w = I`.
    Identity,
    /// `Sigma_w = Sigma^{-1}`, the inverse of the input covariance.
    InverseOfX,
    /// `Sigma_w = L_w L_w^T` given by its lower Cholesky factor.
    Chol(&'a [f64]),
}

/// The response `f_w(x)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Response {
    /// `w·x`.
    Linear,
    /// `sqrt(d) tanh(w·x)`.
    Tanh,
    /// `w·x + c (w·x)^3`.
    Cubic {
        /// Coefficient `c` (finite).
        c: f64,
    },
}

impl Response {
    /// `f_w(x)` from `s = w·x` in dimension `d`.
    #[inline]
    pub fn apply(&self, s: f64, d: usize) -> f64 {
        match *self {
            Response::Linear => s,
            Response::Tanh => libm::sqrt(d as f64) * libm::tanh(s),
            Response::Cubic { c } => s + c * s * s * s,
        }
    }
}

/// Everything that defines the task law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskSpec<'a> {
    /// Input dimension `d >= 1`.
    pub d: usize,
    /// Context examples per task `n >= 1`.
    pub n: usize,
    /// Label-noise standard deviation `sigma >= 0`.
    pub sigma: f64,
    /// Scale of `w` (`tau`): `w ~ N(0, w_scale^2 Sigma_w)`; `> 0`.
    pub w_scale: f64,
    /// Input covariance.
    pub x_cov: XCov<'a>,
    /// Task covariance.
    pub w_cov: WCov<'a>,
    /// Response family.
    pub response: Response,
    /// Whether the query label carries noise too (default in the paper: yes).
    pub noisy_query: bool,
}

impl<'a> TaskSpec<'a> {
    /// Isotropic linear tasks: `x ~ N(0, I)`, `w ~ N(0, I)`, noise `sigma`, noisy query.
    pub fn isotropic(d: usize, n: usize, sigma: f64) -> Self {
        Self {
            d,
            n,
            sigma,
            w_scale: 1.0,
            x_cov: XCov::Identity,
            w_cov: WCov::Identity,
            response: Response::Linear,
            noisy_query: true,
        }
    }

    /// Checks every field; the errors name the field.
    pub fn validate(&self) -> Result<()> {
        check::nonzero("d", self.d)?;
        check::nonzero("n", self.n)?;
        check::non_negative("sigma", self.sigma)?;
        check::positive("w_scale", self.w_scale)?;
        let dd = self.d * self.d;
        match self.x_cov {
            XCov::Chol(l) => {
                check::same_len("x_cov factor", dd, l.len())?;
                check_factor("x_cov", l, self.d)?;
            }
            XCov::Uniform(a) => check::positive("input_range", a)?,
            XCov::Identity => {}
        }
        if let WCov::Chol(l) = self.w_cov {
            check::same_len("w_cov factor", dd, l.len())?;
            check_factor("w_cov", l, self.d)?;
        }
        if let Response::Cubic { c } = self.response {
            check::finite("c", c)?;
        }
        Ok(())
    }
}

/// A usable lower factor: finite, positive diagonal.
fn check_factor(what: &'static str, l: &[f64], d: usize) -> Result<()> {
    check::all_finite_f64(what, l)?;
    for i in 0..d {
        let p = l[i * d + i];
        if p <= 0.0 {
            return Err(Error::invalid(
                what,
                p,
                "a Cholesky factor with a positive diagonal",
            ));
        }
    }
    Ok(())
}

/// Caller-provided storage of one task.
#[derive(Debug)]
pub struct TaskMut<'b> {
    /// Context inputs, row-major `n x d`.
    pub x: &'b mut [f64],
    /// Context labels, `n`.
    pub y: &'b mut [f64],
    /// Query input, `d`.
    pub xq: &'b mut [f64],
    /// Query label.
    pub yq: &'b mut f64,
    /// The task vector, `d`.
    pub w: &'b mut [f64],
}

/// Draws one task into `out`; `tmp` is scratch of length `d`. No allocation.
///
/// Errors: an invalid `spec` (see [`TaskSpec::validate`]) or buffers of the wrong length.
pub fn sample_task<R: Rng + ?Sized>(
    rng: &mut R,
    spec: &TaskSpec<'_>,
    out: TaskMut<'_>,
    tmp: &mut [f64],
) -> Result<()> {
    spec.validate()?;
    let (d, n) = (spec.d, spec.n);
    check::same_len("task x", n * d, out.x.len())?;
    check::same_len("task y", n, out.y.len())?;
    check::same_len("task xq", d, out.xq.len())?;
    check::same_len("task w", d, out.w.len())?;
    check::same_len("scratch", d, tmp.len())?;
    sample_task_unchecked(rng, spec, out, tmp);
    Ok(())
}

/// [`sample_task`] without the checks (the caller validated `spec` and the lengths).
pub(crate) fn sample_task_unchecked<R: Rng + ?Sized>(
    rng: &mut R,
    spec: &TaskSpec<'_>,
    out: TaskMut<'_>,
    tmp: &mut [f64],
) {
    let d = spec.d;
    // w.
    for t in tmp.iter_mut() {
        *t = seq::normal(rng);
    }
    match spec.w_cov {
        WCov::Identity => out.w.copy_from_slice(tmp),
        WCov::Chol(l) => lower_mul(l, d, tmp, out.w),
        WCov::InverseOfX => {
            out.w.copy_from_slice(tmp);
            match spec.x_cov {
                XCov::Chol(l) => lower_transpose_solve_in_place(l, d, out.w),
                XCov::Uniform(a) => {
                    let s = libm::sqrt(12.0) / a;
                    out.w.iter_mut().for_each(|v| *v *= s);
                }
                XCov::Identity => {}
            }
        }
    }
    out.w.iter_mut().for_each(|v| *v *= spec.w_scale);
    let draw_x = |rng: &mut R, x: &mut [f64], tmp: &mut [f64]| match spec.x_cov {
        XCov::Identity => x.iter_mut().for_each(|v| *v = seq::normal(rng)),
        XCov::Chol(l) => {
            tmp.iter_mut().for_each(|v| *v = seq::normal(rng));
            lower_mul(l, d, tmp, x);
        }
        XCov::Uniform(a) => x
            .iter_mut()
            .for_each(|v| *v = a * (seq::uniform(rng) - 0.5)),
    };
    for (xi, yi) in out.x.chunks_exact_mut(d).zip(out.y.iter_mut()) {
        draw_x(rng, xi, tmp);
        let s = crate::linalg::dot(xi, out.w);
        *yi = spec.response.apply(s, d) + spec.sigma * seq::normal(rng);
    }
    draw_x(rng, out.xq, tmp);
    let s = crate::linalg::dot(out.xq, out.w);
    let eps = seq::normal(rng);
    *out.yq = spec.response.apply(s, d)
        + if spec.noisy_query {
            spec.sigma * eps
        } else {
            0.0
        };
}

#[cfg(feature = "alloc")]
pub use batch::{TaskBatch, TaskView};

#[cfg(feature = "alloc")]
mod batch {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// One task of a batch: `(x [n*d], y [n], x_q [d], y_q, w [d])`.
    pub type TaskView<'a> = (&'a [f64], &'a [f64], &'a [f64], f64, &'a [f64]);

    /// `B` tasks stored contiguously: `x [B, n, d]`, `y [B, n]`, `xq [B, d]`, `yq [B]`, `w [B, d]`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct TaskBatch {
        /// Number of tasks `B`.
        pub b: usize,
        /// Context length.
        pub n: usize,
        /// Dimension.
        pub d: usize,
        /// Context inputs.
        pub x: Vec<f64>,
        /// Context labels.
        pub y: Vec<f64>,
        /// Query inputs.
        pub xq: Vec<f64>,
        /// Query labels.
        pub yq: Vec<f64>,
        /// Task vectors.
        pub w: Vec<f64>,
    }

    impl TaskBatch {
        /// A zeroed batch of `b` tasks.
        pub fn zeros(b: usize, n: usize, d: usize) -> Self {
            Self {
                b,
                n,
                d,
                x: vec![0.0; b * n * d],
                y: vec![0.0; b * n],
                xq: vec![0.0; b * d],
                yq: vec![0.0; b],
                w: vec![0.0; b * d],
            }
        }

        /// Draws `b >= 1` fresh tasks.
        pub fn sample<R: Rng + ?Sized>(rng: &mut R, spec: &TaskSpec<'_>, b: usize) -> Result<Self> {
            check::nonzero("batch", b)?;
            spec.validate()?;
            let mut t = Self::zeros(b, spec.n, spec.d);
            t.resample(rng, spec)?;
            Ok(t)
        }

        /// Redraws every task in place (the shape must match `spec`).
        pub fn resample<R: Rng + ?Sized>(
            &mut self,
            rng: &mut R,
            spec: &TaskSpec<'_>,
        ) -> Result<()> {
            spec.validate()?;
            check::same_len("batch n", self.n, spec.n)?;
            check::same_len("batch d", self.d, spec.d)?;
            let (n, d) = (self.n, self.d);
            let mut tmp = vec![0.0; d];
            let it = self
                .x
                .chunks_exact_mut(n * d)
                .zip(self.y.chunks_exact_mut(n))
                .zip(self.xq.chunks_exact_mut(d))
                .zip(self.yq.iter_mut())
                .zip(self.w.chunks_exact_mut(d));
            for ((((x, y), xq), yq), w) in it {
                sample_task_unchecked(rng, spec, TaskMut { x, y, xq, yq, w }, &mut tmp);
            }
            Ok(())
        }

        /// Task `i` as slices `(x, y, xq, yq, w)`; `None` when `i >= b`.
        pub fn task(&self, i: usize) -> Option<TaskView<'_>> {
            let (n, d) = (self.n, self.d);
            Some((
                self.x.get(i * n * d..(i + 1) * n * d)?,
                self.y.get(i * n..(i + 1) * n)?,
                self.xq.get(i * d..(i + 1) * d)?,
                *self.yq.get(i)?,
                self.w.get(i * d..(i + 1) * d)?,
            ))
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::icl::chol::cholesky_in_place;
    use crate::rng::default_rng;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    #[test]
    fn bad_input_is_typed() {
        let mut r = default_rng(1);
        for (spec, name) in [
            (TaskSpec::isotropic(0, 3, 0.1), "d"),
            (TaskSpec::isotropic(2, 0, 0.1), "n"),
            (TaskSpec::isotropic(2, 3, -0.1), "sigma"),
            (TaskSpec::isotropic(2, 3, f64::NAN), "sigma"),
        ] {
            assert!(
                matches!(TaskBatch::sample(&mut r, &spec, 4), Err(Error::InvalidParam { name: n, .. }) if n == name),
                "{name}"
            );
        }
        // A non-SPD covariance is caught when factorised.
        let mut cov = [1.0, 2.0, 2.0, 1.0];
        assert!(matches!(
            cholesky_in_place(&mut cov, 2, "x_cov"),
            Err(Error::InvalidParam { name: "x_cov", .. })
        ));
        let bad = [1.0, 0.0, 0.0, -1.0];
        let spec = TaskSpec {
            x_cov: XCov::Chol(&bad),
            ..TaskSpec::isotropic(2, 3, 0.0)
        };
        assert!(matches!(
            spec.validate(),
            Err(Error::InvalidParam { name: "x_cov", .. })
        ));
        assert!(TaskBatch::sample(&mut r, &TaskSpec::isotropic(2, 3, 0.0), 0).is_err());
    }

    /// Second moments: E[x x^T] = Sigma, E[w w^T] = Sigma^{-1} (InverseOfX), noise variance, and
    /// the labels follow y = w·x + eps exactly. 40 000 tasks; tolerance 5 standard errors.
    #[test]
    fn moments_match_the_law() {
        let d = 3;
        let cov = [4.0, 1.0, 0.0, 1.0, 2.0, 0.5, 0.0, 0.5, 1.0];
        let mut l = cov;
        cholesky_in_place(&mut l, d, "x_cov").unwrap();
        let spec = TaskSpec {
            x_cov: XCov::Chol(&l),
            w_cov: WCov::InverseOfX,
            ..TaskSpec::isotropic(d, 2, 0.5)
        };
        let b = 40_000;
        let t = TaskBatch::sample(&mut default_rng(9), &spec, b).unwrap();
        // Sigma^{-1} by hand (cofactors / det; det = 4(2-0.25) - 1(1-0) = 6).
        let inv: [f64; 9] = [
            1.75 / 6.0,
            -1.0 / 6.0,
            0.5 / 6.0,
            -1.0 / 6.0,
            4.0 / 6.0,
            -2.0 / 6.0,
            0.5 / 6.0,
            -2.0 / 6.0,
            7.0 / 6.0,
        ];
        for i in 0..d {
            for j in 0..d {
                let m = (0..b)
                    .map(|k| t.xq[k * d + i] * t.xq[k * d + j])
                    .sum::<f64>()
                    / b as f64;
                let se =
                    ((cov[i * d + i] * cov[j * d + j] + cov[i * d + j].powi(2)) / b as f64).sqrt();
                assert!((m - cov[i * d + j]).abs() < 5.0 * se, "xx {i}{j}: {m}");
                let m = (0..b).map(|k| t.w[k * d + i] * t.w[k * d + j]).sum::<f64>() / b as f64;
                let se =
                    ((inv[i * d + i] * inv[j * d + j] + inv[i * d + j].powi(2)) / b as f64).sqrt();
                assert!(
                    (m - inv[i * d + j]).abs() < 5.0 * se,
                    "ww {i}{j}: {m} vs {}",
                    inv[i * d + j]
                );
            }
        }
        let resid: Vec<f64> = (0..b)
            .map(|k| {
                let (x, y, _, _, w) = t.task(k).unwrap();
                y[0] - crate::linalg::dot(&x[..d], w)
            })
            .collect();
        let v = resid.iter().map(|r| r * r).sum::<f64>() / b as f64;
        assert!(
            (v - 0.25).abs() < 5.0 * 0.25 * (2.0 / b as f64).sqrt(),
            "noise var {v}"
        );
    }

    /// von Oswald inputs: within (-a/2, a/2), variance a^2/12 (5 SE over 30 000 draws).
    #[test]
    fn uniform_inputs() {
        let spec = TaskSpec {
            x_cov: XCov::Uniform(2.0),
            ..TaskSpec::isotropic(2, 5, 0.0)
        };
        let t = TaskBatch::sample(&mut default_rng(5), &spec, 3000).unwrap();
        assert!(t.x.iter().all(|v| v.abs() < 1.0));
        let m = t.x.len() as f64;
        let var = t.x.iter().map(|v| v * v).sum::<f64>() / m;
        // Var(x^2) for U(-1, 1): E x^4 - (E x^2)^2 = 1/5 - 1/9.
        assert!(
            (var - 1.0 / 3.0).abs() < 5.0 * ((0.2 - 1.0 / 9.0) / m).sqrt(),
            "{var}"
        );
        let bad = TaskSpec {
            x_cov: XCov::Uniform(0.0),
            ..spec
        };
        assert!(matches!(
            bad.validate(),
            Err(Error::InvalidParam {
                name: "input_range",
                ..
            })
        ));
    }

    #[test]
    fn noiseless_query_and_nonlinear_response() {
        let spec = TaskSpec {
            response: Response::Tanh,
            noisy_query: false,
            w_scale: 1.0 / 5f64.sqrt(),
            ..TaskSpec::isotropic(5, 4, 0.7)
        };
        let t = TaskBatch::sample(&mut default_rng(3), &spec, 50).unwrap();
        for k in 0..50 {
            let (_, _, xq, yq, w) = t.task(k).unwrap();
            let want = 5f64.sqrt() * crate::linalg::dot(xq, w).tanh();
            assert!((yq - want).abs() < 1e-14);
        }
    }
}
