//! The light classifier head: standardised features, L2-regularised logistic regression fitted by
//! damped Newton (IRLS).
//!
//! Used on LOTA patch features (Wang et al., ICCV 2025, arXiv 2510.14230; spec 20 section 4).
//! Model `P(y = 1 | f) = sigmoid(w . z + b)`, `z = (f - mean) / std` with train-set moments (a
//! feature with `std = 0` is dropped). Objective as scikit-learn's `LogisticRegression(C)`:
//! `sum_i logloss_i + ||w||^2 / (2 C)` (bias not penalised). Newton step
//! `(Z' W Z + I/C) d = -grad` with backtracking on the objective; solved by nalgebra Cholesky on a
//! fixed `17 x 17` matrix (no allocator). Cost per iteration `O(n d^2 + d^3)`, `d <= 16`.

use nalgebra::{SMatrix, SVector};

use crate::error::{check, Error, Result};

/// Largest feature dimension.
pub const MAX_D: usize = 16;
const M: usize = MAX_D + 1;

/// A fitted logistic head.
#[derive(Debug, Clone)]
pub struct LogisticHead {
    d: usize,
    mean: [f64; MAX_D],
    std: [f64; MAX_D],
    keep: [bool; MAX_D],
    w: [f64; MAX_D],
    b: f64,
    iterations: usize,
}

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + libm::exp(-t))
    } else {
        let e = libm::exp(t);
        e / (1.0 + e)
    }
}

/// `log(1 + e^t)` without overflow.
fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + libm::log1p(libm::exp(-t))
    } else {
        libm::log1p(libm::exp(t))
    }
}

impl LogisticHead {
    /// Fits on `x` (row-major `[n, d]`, `1 <= d <= 16`) with labels `y` (`true` = class 1) and
    /// inverse regularisation `c > 0`. Errors: shapes, non-finite features, a single class, or a
    /// failed solve.
    pub fn fit(x: &[f64], d: usize, y: &[bool], c: f64) -> Result<Self> {
        if d == 0 || d > MAX_D {
            return Err(Error::invalid("feature dimension", d as f64, "in 1..=16"));
        }
        check::positive("C", c)?;
        let n = y.len();
        check::nonzero("samples", n)?;
        check::same_len("LogisticHead::fit (x)", n * d, x.len())?;
        check::all_finite_f64("features", x)?;
        let pos = y.iter().filter(|&&v| v).count();
        if pos == 0 || pos == n {
            return Err(Error::invalid("labels", pos as f64, "both classes present"));
        }
        let mut head = LogisticHead {
            d,
            mean: [0.0; MAX_D],
            std: [1.0; MAX_D],
            keep: [false; MAX_D],
            w: [0.0; MAX_D],
            b: 0.0,
            iterations: 0,
        };
        for j in 0..d {
            let m = x.iter().skip(j).step_by(d).sum::<f64>() / n as f64;
            let v = x
                .iter()
                .skip(j)
                .step_by(d)
                .map(|v| (v - m) * (v - m))
                .sum::<f64>()
                / n as f64;
            head.mean[j] = m;
            head.std[j] = libm::sqrt(v);
            head.keep[j] = head.std[j] > 1e-12 * (1.0 + m.abs());
        }
        // Parameters theta = (w_0..w_{d-1}, b) in slots 0..d and d; dropped features stay 0.
        let z = |row: &[f64], j: usize| (row[j] - head.mean[j]) / head.std[j];
        let objective = |th: &SVector<f64, M>| -> f64 {
            let mut f = 0.0;
            for (row, &yi) in x.chunks_exact(d).zip(y) {
                let mut t = th[d];
                for j in (0..d).filter(|&j| head.keep[j]) {
                    t += th[j] * z(row, j);
                }
                f += softplus(t) - if yi { t } else { 0.0 };
            }
            f + (0..d).map(|j| th[j] * th[j]).sum::<f64>() / (2.0 * c)
        };
        let mut th = SVector::<f64, M>::zeros();
        let mut fval = objective(&th);
        for it in 0..100 {
            let mut g = SVector::<f64, M>::zeros();
            let mut hm = SMatrix::<f64, M, M>::identity();
            for j in 0..=d {
                hm[(j, j)] = if j < d && head.keep[j] {
                    1.0 / c
                } else if j == d {
                    1e-10
                } else {
                    1.0
                };
            }
            let mut zi = [0.0; M];
            for (row, &yi) in x.chunks_exact(d).zip(y) {
                let mut t = th[d];
                for j in 0..d {
                    zi[j] = if head.keep[j] { z(row, j) } else { 0.0 };
                    t += th[j] * zi[j];
                }
                zi[d] = 1.0;
                let p = sigmoid(t);
                let r = p - if yi { 1.0 } else { 0.0 };
                let wgt = p * (1.0 - p);
                for a in 0..=d {
                    g[a] += r * zi[a];
                    for bb in 0..=d {
                        hm[(a, bb)] += wgt * zi[a] * zi[bb];
                    }
                }
            }
            for j in 0..d {
                g[j] += th[j] / c;
            }
            let step = hm
                .cholesky()
                .ok_or(Error::Numerical("logistic Hessian not positive definite"))?
                .solve(&(-g));
            let mut alpha = 1.0;
            let mut accepted = false;
            for _ in 0..40 {
                let cand = th + step * alpha;
                let fc = objective(&cand);
                if fc <= fval + 1e-4 * alpha * g.dot(&step) {
                    th = cand;
                    fval = fc;
                    accepted = true;
                    break;
                }
                alpha *= 0.5;
            }
            head.iterations = it + 1;
            if !accepted || step.amax() * alpha < 1e-10 {
                break;
            }
        }
        if !fval.is_finite() {
            return Err(Error::Numerical("logistic fit diverged"));
        }
        for j in 0..d {
            head.w[j] = th[j];
        }
        head.b = th[d];
        Ok(head)
    }

    /// Newton iterations used.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Weights on the standardised features (0 for dropped ones) and the bias.
    pub fn weights(&self) -> (&[f64], f64) {
        (&self.w[..self.d], self.b)
    }

    /// `P(class 1 | f)` for one feature row.
    pub fn predict_proba(&self, f: &[f64]) -> Result<f64> {
        check::same_len("LogisticHead::predict_proba", self.d, f.len())?;
        check::all_finite_f64("features", f)?;
        let mut t = self.b;
        for j in (0..self.d).filter(|&j| self.keep[j]) {
            t += self.w[j] * (f[j] - self.mean[j]) / self.std[j];
        }
        Ok(sigmoid(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sklearn_on_a_small_problem() {
        // scikit-learn LogisticRegression(C=1) on StandardScaler features of X, y below
        // (fixtures/oracle/fractional_logistic.py / .json).
        let x = [
            0.5, 1.0, 1.5, -0.3, 2.0, 0.7, -1.0, 0.1, 0.3, 0.9, 2.5, -0.5, -0.2, 0.4, 1.2, 1.1,
        ];
        let y = [false, true, true, false, false, true, false, true];
        let h = LogisticHead::fit(&x, 2, &y, 1.0).unwrap();
        let (w, b) = h.weights();
        let want_w = [ORACLE_W0, ORACLE_W1];
        assert!(
            (w[0] - want_w[0]).abs() < 1e-6 && (w[1] - want_w[1]).abs() < 1e-6,
            "{w:?}"
        );
        assert!((b - ORACLE_B).abs() < 1e-6, "{b}");
    }

    const ORACLE_W0: f64 = 1.3126444351042585;
    const ORACLE_W1: f64 = -0.2823134038713593;
    const ORACLE_B: f64 = 0.04969170395764104;

    #[test]
    fn constant_feature_is_dropped_and_separable_data_converges() {
        let x = [0.0, 5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
        let y = [false, false, true, true];
        let h = LogisticHead::fit(&x, 2, &y, 100.0).unwrap();
        assert_eq!(h.weights().0[1], 0.0);
        assert!(h.predict_proba(&[3.0, 5.0]).unwrap() > 0.9);
        assert!(h.predict_proba(&[0.0, 5.0]).unwrap() < 0.1);
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            LogisticHead::fit(&[1.0, 2.0], 1, &[true, true], 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            LogisticHead::fit(&[1.0, 2.0], 1, &[true], 1.0),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            LogisticHead::fit(&[1.0, 2.0], 1, &[true, false], 0.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            LogisticHead::fit(&[1.0, f64::NAN], 1, &[true, false], 1.0),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            LogisticHead::fit(&[], 0, &[], 1.0),
            Err(Error::InvalidParam { .. })
        ));
        let h = LogisticHead::fit(&[1.0, 2.0], 1, &[true, false], 1.0).unwrap();
        assert!(matches!(
            h.predict_proba(&[1.0, 2.0]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
