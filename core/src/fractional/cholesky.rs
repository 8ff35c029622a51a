//! Exact fractional Brownian motion on a grid by Cholesky factorisation of its covariance.
//!
//! Reference: the classical method (e.g. Dieker, "Simulation of fractional Brownian motion",
//! 2004; `fbm` PyPI package, method `cholesky`); spec 08 section 6 (Daems et al. 2023,
//! arXiv 2310.12975, use it as the ground truth for the Markov approximation).
//! Grid `t_i = i T / n`, `i = 1..n`; `R_ij = (t_i^2H + t_j^2H - |t_i - t_j|^2H) / 2`; `L = chol(R)`
//! (nalgebra); a path is `X = L z`, `z ~ N(0, I_n)`, returned with `X_0 = 0` prepended.
//! Cost: `O(n^3)` set-up once per `(n, H, T)`, `O(n^2)` per path; `n <= 4096` (memory `8 n^2` bytes).

use alloc::vec::Vec;

use nalgebra::DMatrix;
use rand_core::Rng;

use super::cov::fbm_cov;
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// Largest grid accepted (the factor takes `8 n^2` bytes: 128 MiB at 4096).
pub const MAX_N: usize = 4096;

/// Cholesky sampler of fBM on `n` grid points.
#[derive(Debug, Clone)]
pub struct FbmCholesky {
    l: DMatrix<f64>,
    n: usize,
}

impl FbmCholesky {
    /// Factors the covariance for `n` steps on `[0, T]` with Hurst `h`.
    pub fn new(n: usize, h: f64, t: f64) -> Result<Self> {
        check::nonzero("n", n)?;
        if n > MAX_N {
            return Err(Error::invalid(
                "n",
                n as f64,
                "<= 4096 for the Cholesky sampler (use Davies-Harte)",
            ));
        }
        check::open("H", h, 0.0, 1.0, "in (0, 1)")?;
        check::positive("T", t)?;
        let dt = t / n as f64;
        let r = DMatrix::from_fn(n, n, |i, j| {
            fbm_cov(h, (i + 1) as f64 * dt, (j + 1) as f64 * dt)
        });
        let ch = r.cholesky().ok_or(Error::Numerical(
            "fBM covariance is not numerically positive definite",
        ))?;
        Ok(Self { l: ch.unpack(), n })
    }

    /// The lower-triangular factor `L` (`n x n`).
    pub fn factor(&self) -> &DMatrix<f64> {
        &self.l
    }

    /// One path `X_0 = 0, X_1, ..., X_n` into `out` (length `n + 1`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) -> Result<()> {
        check::same_len("FbmCholesky::sample (out)", self.n + 1, out.len())?;
        let z: Vec<f64> = (0..self.n).map(|_| seq::normal(rng)).collect();
        out[0] = 0.0;
        for (i, o) in out[1..].iter_mut().enumerate() {
            let row = self.l.row(i);
            *o = row.iter().zip(&z).take(i + 1).map(|(a, b)| a * b).sum();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_matches_spec() {
        let s = FbmCholesky::new(4, 0.7, 1.0).unwrap();
        let want = [
            [0.3789291416, 0.0, 0.0, 0.0],
            [0.5, 0.3590670434, 0.0, 0.0],
            [0.5715238377, 0.4627185054, 0.3573905559, 0.0],
            [0.6269132147, 0.5195224572, 0.4581984882, 0.3565534786],
        ];
        for (i, row) in want.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                assert!((s.factor()[(i, j)] - w).abs() < 1e-10);
            }
        }
        assert!((fbm_cov(0.7, 0.25, 1.0) - 0.2375556863).abs() < 1e-10);
        assert!((fbm_cov(0.7, 0.75, 1.0) - 0.7624443137).abs() < 1e-10);
    }

    #[test]
    fn terminal_variance_is_t_2h() {
        // Var X(T) = T^2H; 20000 paths, 5 SE (SE of a variance = sqrt(2/N) var).
        let (h, t) = (0.3, 2.0);
        let s = FbmCholesky::new(8, h, t).unwrap();
        let mut rng = crate::rng::default_rng(5);
        let mut out = [0.0; 9];
        let n = 20_000;
        let mut acc = 0.0;
        for _ in 0..n {
            s.sample(&mut rng, &mut out).unwrap();
            acc += out[8] * out[8];
        }
        let v = acc / n as f64;
        let want = libm::pow(t, 2.0 * h);
        assert!(
            (v - want).abs() < 5.0 * want * (2.0 / n as f64).sqrt(),
            "{v} vs {want}"
        );
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            FbmCholesky::new(0, 0.5, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            FbmCholesky::new(5000, 0.5, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            FbmCholesky::new(4, 1.5, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            FbmCholesky::new(4, 0.5, 0.0),
            Err(Error::InvalidParam { .. })
        ));
        let s = FbmCholesky::new(4, 0.5, 1.0).unwrap();
        let mut rng = crate::rng::default_rng(0);
        assert!(matches!(
            s.sample(&mut rng, &mut [0.0; 4]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
