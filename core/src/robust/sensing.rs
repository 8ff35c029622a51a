//! Robust matrix-sensing problem sampler: a rank-`r` PSD ground truth, Gaussian measurement matrices,
//! a Bernoulli(p) outlier mask and Gaussian noise on the inliers.
//!
//! Paper: J. Ma, S. Fattahi, "Global Convergence of Sub-gradient Method for Robust Matrix Recovery:
//! Small Initialization, Noisy Measurements, and Over-parameterization", 2022, arXiv 2202.08788.
//!
//! Model (spec 19, section 1):
//! ```text
//! Q   = orthonormal d x r  (Gram-Schmidt of a d x r standard normal matrix = the Q of its QR)
//! lam = linspace(1.0, 0.5, r)            (kappa = 2; lam = [1] when r = 1)
//! U*  = Q diag(sqrt(lam)),  X* = U* U*^T
//! A_i ~ iid N(0, 1) entries, d x d, i = 1..m (not symmetrised)
//! mask_i ~ Bernoulli(p);  s_i = outlier draw if mask_i else sigma * N(0, 1)
//! y_i = <A_i, X*> + s_i,  <A, X> = sum_jk A_jk X_jk
//! ```
//! Cost: `m d^2` normal draws and multiply-adds; memory `m d^2` for the measurement matrices.
//! The sampler writes into caller-provided slices (no allocator needed); [`SensingProblem`] is the
//! owning convenience wrapper (feature `alloc`).

use crate::error::{check, Error, Result};
use crate::rng::seq;
use rand_core::Rng;

/// The distribution of an outlier `s_i` (for masked measurements).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outlier {
    /// `N(0, std^2)` (spec default: std = 10).
    Gaussian {
        /// Standard deviation of the outliers.
        std: f64,
    },
    /// The constant `c` (adversarial-style: spec option `+10 ||X*||_F`).
    Constant {
        /// The value added to every outlier.
        c: f64,
    },
    /// Uniform on `[-r, r]`.
    Uniform {
        /// Half width.
        r: f64,
    },
}

/// The shape and noise parameters of a sensing problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensingSpec {
    /// Matrix dimension `d`.
    pub d: usize,
    /// True rank `r` (`1 <= r <= d`).
    pub r: usize,
    /// Number of measurements `m`.
    pub m: usize,
    /// Outlier fraction `p` in `[0, 1)`.
    pub p: f64,
    /// Outlier law.
    pub outlier: Outlier,
    /// Gaussian noise std on the inliers (`>= 0`).
    pub sigma: f64,
}

impl SensingSpec {
    /// Validates every field.
    pub fn validate(&self) -> Result<()> {
        check::nonzero("d", self.d)?;
        check::nonzero("r", self.r)?;
        if self.r > self.d {
            return Err(Error::invalid("r", self.r as f64, "an integer in [1, d]"));
        }
        check::nonzero("m", self.m)?;
        check::half_open("p", self.p, 0.0, 1.0, "in [0, 1)")?;
        check::non_negative("sigma", self.sigma)?;
        match self.outlier {
            Outlier::Gaussian { std } => check::non_negative("outlier std", std),
            Outlier::Constant { c } => check::finite("outlier constant", c),
            Outlier::Uniform { r } => check::non_negative("outlier half width", r),
        }
    }
}

/// Orthonormalises the `cols` columns of the row-major `rows x cols` matrix `a` in place by
/// modified Gram-Schmidt (twice, for stability). Errors with [`Error::Numerical`] when the columns
/// are (numerically) dependent.
pub fn orthonormalize_columns(a: &mut [f64], rows: usize, cols: usize) -> Result<()> {
    check::same_len("orthonormalize_columns", rows * cols, a.len())?;
    for j in 0..cols {
        for _pass in 0..2 {
            for k in 0..j {
                let mut dot = 0.0;
                for i in 0..rows {
                    dot += a[i * cols + k] * a[i * cols + j];
                }
                for i in 0..rows {
                    a[i * cols + j] -= dot * a[i * cols + k];
                }
            }
        }
        let norm = libm::sqrt(
            (0..rows)
                .map(|i| a[i * cols + j] * a[i * cols + j])
                .sum::<f64>(),
        );
        if norm.is_nan() || norm <= 1e-12 {
            return Err(Error::Numerical("columns are linearly dependent"));
        }
        for i in 0..rows {
            a[i * cols + j] /= norm;
        }
    }
    Ok(())
}

/// `out = U U^T` for a row-major `d x k` factor `u`; `out` is `d x d`.
pub fn outer_gram(u: &[f64], d: usize, k: usize, out: &mut [f64]) -> Result<()> {
    check::same_len("outer_gram u", d * k, u.len())?;
    check::same_len("outer_gram out", d * d, out.len())?;
    for i in 0..d {
        for j in 0..=i {
            let mut s = 0.0;
            for c in 0..k {
                s += u[i * k + c] * u[j * k + c];
            }
            out[i * d + j] = s;
            out[j * d + i] = s;
        }
    }
    Ok(())
}

/// Draws a problem into caller buffers: `a` (`m * d * d`, the `A_i` row-major one after the other),
/// `y` (`m`), `u_star` (`d * r`), `x_star` (`d * d`), `mask` (`m`, `true` = outlier).
/// Returns the number of outliers. Order of draws: `U*` columns, then all `A`, then per measurement
/// the mask and its noise.
#[allow(clippy::too_many_arguments)]
pub fn sample_sensing_into<R: Rng + ?Sized>(
    rng: &mut R,
    spec: &SensingSpec,
    a: &mut [f64],
    y: &mut [f64],
    u_star: &mut [f64],
    x_star: &mut [f64],
    mask: &mut [bool],
) -> Result<usize> {
    spec.validate()?;
    let (d, r, m) = (spec.d, spec.r, spec.m);
    let dd = d * d;
    check::same_len("sensing a", m * dd, a.len())?;
    check::same_len("sensing y", m, y.len())?;
    check::same_len("sensing u_star", d * r, u_star.len())?;
    check::same_len("sensing x_star", dd, x_star.len())?;
    check::same_len("sensing mask", m, mask.len())?;
    seq::fill_gaussian_f64(rng, 1.0, u_star)?;
    orthonormalize_columns(u_star, d, r)?;
    for c in 0..r {
        let lam = if r == 1 {
            1.0
        } else {
            1.0 - 0.5 * c as f64 / (r - 1) as f64
        };
        let s = libm::sqrt(lam);
        for i in 0..d {
            u_star[i * r + c] *= s;
        }
    }
    outer_gram(u_star, d, r, x_star)?;
    seq::fill_gaussian_f64(rng, 1.0, a)?;
    let mut outliers = 0;
    for i in 0..m {
        let ai = &a[i * dd..(i + 1) * dd];
        let clean: f64 = ai.iter().zip(x_star.iter()).map(|(p, q)| p * q).sum();
        let is_out = seq::bernoulli(rng, spec.p)?;
        let s = if is_out {
            outliers += 1;
            match spec.outlier {
                Outlier::Gaussian { std } => std * seq::normal(rng),
                Outlier::Constant { c } => c,
                Outlier::Uniform { r } => r * (2.0 * seq::uniform(rng) - 1.0),
            }
        } else {
            spec.sigma * seq::normal(rng)
        };
        mask[i] = is_out;
        y[i] = clean + s;
    }
    Ok(outliers)
}

/// An owned sensing problem (see [`sample_sensing_into`]).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct SensingProblem {
    /// The parameters it was drawn with.
    pub spec: SensingSpec,
    /// `m` measurement matrices, `d x d` row-major each, contiguous (`[m, d*d]`).
    pub a: alloc::vec::Vec<f64>,
    /// Measurements.
    pub y: alloc::vec::Vec<f64>,
    /// Ground-truth factor `d x r`.
    pub u_star: alloc::vec::Vec<f64>,
    /// Ground truth `X* = U* U*^T`, `d x d`.
    pub x_star: alloc::vec::Vec<f64>,
    /// Outlier mask.
    pub mask: alloc::vec::Vec<bool>,
    /// Number of outliers.
    pub outliers: usize,
}

#[cfg(feature = "alloc")]
impl SensingProblem {
    /// Draws a problem.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R, spec: SensingSpec) -> Result<Self> {
        use alloc::vec;
        spec.validate()?;
        let (d, r, m) = (spec.d, spec.r, spec.m);
        let len = m
            .checked_mul(d)
            .and_then(|v| v.checked_mul(d))
            .ok_or(Error::invalid("m", m as f64, "m * d^2 addressable"))?;
        let mut p = SensingProblem {
            spec,
            a: vec![0.0; len],
            y: vec![0.0; m],
            u_star: vec![0.0; d * r],
            x_star: vec![0.0; d * d],
            mask: vec![false; m],
            outliers: 0,
        };
        p.outliers = sample_sensing_into(
            rng,
            &spec,
            &mut p.a,
            &mut p.y,
            &mut p.u_star,
            &mut p.x_star,
            &mut p.mask,
        )?;
        Ok(p)
    }
}

#[cfg(all(test, feature = "alloc"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::default_rng;

    fn spec(p: f64) -> SensingSpec {
        SensingSpec {
            d: 6,
            r: 2,
            m: 4000,
            p,
            outlier: Outlier::Gaussian { std: 10.0 },
            sigma: 0.0,
        }
    }

    #[test]
    fn ground_truth_has_the_spectrum() {
        let pr = SensingProblem::sample(&mut default_rng(1), spec(0.0)).unwrap();
        // U*^T U* = diag(lam) = diag(1, 0.5).
        let (d, r) = (6, 2);
        for a in 0..r {
            for b in 0..r {
                let g: f64 = (0..d)
                    .map(|i| pr.u_star[i * r + a] * pr.u_star[i * r + b])
                    .sum();
                let want = if a != b {
                    0.0
                } else if a == 0 {
                    1.0
                } else {
                    0.5
                };
                assert!((g - want).abs() < 1e-12, "{a}{b}: {g}");
            }
        }
        // No outliers, no noise: y = <A_i, X*>.
        assert_eq!(pr.outliers, 0);
        let i = 17;
        let dot: f64 = pr.a[i * 36..(i + 1) * 36]
            .iter()
            .zip(&pr.x_star)
            .map(|(p, q)| p * q)
            .sum();
        assert_eq!(pr.y[i], dot);
    }

    #[test]
    fn outlier_fraction_matches_p() {
        let pr = SensingProblem::sample(&mut default_rng(2), spec(0.2)).unwrap();
        // Binomial(4000, 0.2): sd = 25.3; 5 sd band.
        assert!(
            (pr.outliers as f64 - 800.0).abs() < 5.0 * 25.3,
            "{}",
            pr.outliers
        );
        assert_eq!(pr.outliers, pr.mask.iter().filter(|&&b| b).count());
    }

    #[test]
    fn bad_input_is_typed() {
        let mut rng = default_rng(0);
        for (s, name) in [
            (
                SensingSpec {
                    p: 1.0,
                    ..spec(0.0)
                },
                "p",
            ),
            (
                SensingSpec {
                    p: -0.1,
                    ..spec(0.0)
                },
                "p",
            ),
            (SensingSpec { r: 7, ..spec(0.0) }, "r"),
            (SensingSpec { r: 0, ..spec(0.0) }, "r"),
            (SensingSpec { d: 0, ..spec(0.0) }, "d"),
            (SensingSpec { m: 0, ..spec(0.0) }, "m"),
            (
                SensingSpec {
                    sigma: -1.0,
                    ..spec(0.0)
                },
                "sigma",
            ),
        ] {
            match SensingProblem::sample(&mut rng, s) {
                Err(Error::InvalidParam { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
