//! Exact simulation of Markov-approximate fBM: a bank of `K` OU processes driven by one Brownian
//! motion, sampled without time-discretisation error.
//!
//! Paper: Daems et al., "Variational Inference for SDEs Driven by Fractional Noise", 2023,
//! arXiv 2310.12975 (the reference code uses Euler steps; the exact transition is derived in
//! spec 08, section 5).
//!
//! On a step `dt`: `Y_{n+1} = D Y_n + xi_n`, `D = diag(e^{-g_k dt})`, `xi_n ~ N(0, S)`,
//! `S_ij = (1 - e^{-(g_i+g_j) dt}) / (g_i + g_j)` (the shared Brownian motion makes `S` full and
//! numerically rank-deficient, so it is factored by the pivoted Cholesky of [`super::psd`]).
//! Type I starts from the stationary law `Y_0 ~ N(0, P0)`, `P0_ij = 1/(g_i + g_j)`, and outputs
//! `Bhat(t_n) = omega . (Y_n - Y_0)`; type II starts from `Y_0 = 0` and outputs `omega . Y_n`.
//! Cost per step and path: `O(K r)` with `r = rank(S) <= K`, plus `r` normals; memory `O(K)` per
//! path (no allocator: output goes to caller slices). [`MafbmSamplerN<N>`] holds two `N x N`
//! factors (`16 N^2` bytes): [`MafbmSampler`] (`N = 32`) takes any `K`, and a caller that knows
//! `K` (firmware) picks `N = K` to keep the stack small.

use rand_core::Rng;

use super::psd::PsdFactorN;
use super::weights::{Kind, MAX_K};
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// [`MafbmSamplerN`] for any `K <= 32`.
pub type MafbmSampler = MafbmSamplerN<MAX_K>;

/// Sampler of MA-fBM paths with `K <= N` OU components on a uniform grid of step `dt`; factors
/// computed once.
#[derive(Debug, Clone)]
pub struct MafbmSamplerN<const N: usize> {
    k: usize,
    omega: [f64; N],
    decay: [f64; N],
    step: PsdFactorN<N>,
    init: Option<PsdFactorN<N>>,
}

impl<const N: usize> MafbmSamplerN<N> {
    /// A sampler for speeds `gamma`, weights `omega` (any normalisation), `kind`, step `dt > 0`.
    pub fn new(gamma: &[f64], omega: &[f64], kind: Kind, dt: f64) -> Result<Self> {
        let k = gamma.len();
        if k == 0 || k > N.min(MAX_K) {
            return Err(Error::invalid(
                "K",
                k as f64,
                "in 1..=N (the sampler's capacity; 32 for MafbmSampler)",
            ));
        }
        check::same_len("MafbmSampler (omega)", k, omega.len())?;
        check::all_finite_f64("omega", omega)?;
        check::positive("dt", dt)?;
        for &g in gamma {
            check::positive("gamma", g)?;
        }
        let mut decay = [0.0; N];
        for (d, &g) in decay.iter_mut().zip(gamma) {
            *d = libm::exp(-g * dt);
        }
        let mut om = [0.0; N];
        om[..k].copy_from_slice(omega);
        // One `N x N` scratch, filled row-major with stride `k`, for each covariance in turn.
        let mut m = [[0.0; N]; N];
        let cov = |m: &mut [[f64; N]; N], f: &dyn Fn(f64) -> f64| {
            let flat = m.as_flattened_mut();
            for i in 0..k {
                for j in 0..k {
                    flat[i * k + j] = f(gamma[i] + gamma[j]);
                }
            }
        };
        cov(&mut m, &|q| -libm::expm1(-q * dt) / q);
        let step = PsdFactorN::new(&m.as_flattened()[..k * k], k)?;
        let init = match kind {
            Kind::TypeI => {
                cov(&mut m, &|q| 1.0 / q);
                Some(PsdFactorN::new(&m.as_flattened()[..k * k], k)?)
            }
            Kind::TypeII => None,
        };
        Ok(Self {
            k,
            omega: om,
            decay,
            step,
            init,
        })
    }

    /// Number of OU components.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Numerical rank of the step covariance (normals drawn per step).
    pub fn step_rank(&self) -> usize {
        self.step.rank()
    }

    /// One path `Bhat(t_0 = 0), ..., Bhat(t_n)` into `out` (length `n_steps + 1`; `out[0] = 0`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) -> Result<()> {
        let k = self.k;
        let mut y = [0.0; N];
        let mut y0 = [0.0; N];
        let mut z = [0.0; N];
        let mut xi = [0.0; N];
        if let Some(f0) = &self.init {
            let r = f0.rank();
            for zi in &mut z[..r] {
                *zi = seq::normal(rng);
            }
            f0.apply(&z[..r], &mut y[..k])?;
            y0[..k].copy_from_slice(&y[..k]);
        }
        let r = self.step.rank();
        let Some((first, rest)) = out.split_first_mut() else {
            return Ok(());
        };
        *first = 0.0;
        for o in rest {
            for zi in &mut z[..r] {
                *zi = seq::normal(rng);
            }
            self.step.apply(&z[..r], &mut xi[..k])?;
            let mut b = 0.0;
            for i in 0..k {
                y[i] = self.decay[i] * y[i] + xi[i];
                b += self.omega[i] * (y[i] - y0[i]);
            }
            *o = b;
        }
        Ok(())
    }

    /// `n_paths` paths of `n_steps` steps into `out` (row-major `[n_paths, n_steps + 1]`).
    pub fn sample_paths<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        n_steps: usize,
        n_paths: usize,
        out: &mut [f64],
    ) -> Result<()> {
        let row = n_steps.checked_add(1).ok_or(Error::invalid(
            "n_steps",
            n_steps as f64,
            "< usize::MAX",
        ))?;
        let total = row.checked_mul(n_paths).ok_or(Error::invalid(
            "n_paths",
            n_paths as f64,
            "n_paths * (n_steps + 1) to fit in memory",
        ))?;
        check::same_len("MafbmSampler::sample_paths (out)", total, out.len())?;
        for path in out.chunks_exact_mut(row) {
            self.sample(rng, path)?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::super::cov::ma_cov;
    use super::super::weights::{gamma_grid, omega_optimal, Normalisation};
    use super::*;

    #[test]
    fn step_factor_matches_spec() {
        let mut g = [0.0; 5];
        gamma_grid(20.0, 0, &mut g).unwrap();
        let s = MafbmSampler::new(&g, &[1.0; 5], Kind::TypeI, 0.01).unwrap();
        let want = [
            0.999500125,
            0.9977664302,
            0.9900498337,
            0.9562638985,
            0.8187307531,
        ];
        for (d, w) in s.decay.iter().zip(want) {
            assert!((d - w).abs() < 1e-9);
        }
        // Row 0 of S = F F'.
        let row0 = [
            0.0099950017,
            0.0099863321,
            0.0099476833,
            0.0097772633,
            0.0090612723,
        ];
        for (j, w) in row0.iter().enumerate() {
            let v: f64 = (0..5).map(|c| s.step.get(0, c) * s.step.get(j, c)).sum();
            // The oracle is printed to 10 decimals.
            assert!((v - w).abs() < 1e-10, "{v} vs {w}");
        }
    }

    /// Empirical covariance of 4000 paths within 5 standard errors of the analytic one.
    #[test]
    fn empirical_covariance_matches_formula() {
        let mut g = [0.0; 5];
        gamma_grid(20.0, 0, &mut g).unwrap();
        let mut w = [0.0; 5];
        omega_optimal(&g, 0.3, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        let n_steps = 20;
        let n_paths = 4000;
        let s = MafbmSampler::new(&g, &w, Kind::TypeI, 1.0 / n_steps as f64).unwrap();
        let mut rng = crate::rng::default_rng(11);
        let mut out = alloc::vec![0.0; n_paths * (n_steps + 1)];
        s.sample_paths(&mut rng, n_steps, n_paths, &mut out)
            .unwrap();
        for &(i, j) in &[(5usize, 5usize), (10, 20), (20, 20), (3, 17)] {
            let (ti, tj) = (i as f64 / 20.0, j as f64 / 20.0);
            let c = ma_cov(&g, &w, Kind::TypeI, ti, tj).unwrap();
            let cii = ma_cov(&g, &w, Kind::TypeI, ti, ti).unwrap();
            let cjj = ma_cov(&g, &w, Kind::TypeI, tj, tj).unwrap();
            let m: f64 = out
                .chunks_exact(n_steps + 1)
                .map(|p| p[i] * p[j])
                .sum::<f64>()
                / n_paths as f64;
            // Var(XY) = Cii Cjj + C^2 for jointly Gaussian zero-mean X, Y.
            let se = ((cii * cjj + c * c) / n_paths as f64).sqrt();
            assert!((m - c).abs() < 5.0 * se, "({i},{j}): {m} vs {c} (se {se})");
        }
        assert!(out.chunks_exact(n_steps + 1).all(|p| p[0] == 0.0));
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            MafbmSampler::new(&[], &[], Kind::TypeI, 0.1),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            MafbmSampler::new(&[1.0], &[1.0], Kind::TypeI, 0.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            MafbmSampler::new(&[1.0], &[1.0, 2.0], Kind::TypeI, 0.1),
            Err(Error::ShapeMismatch { .. })
        ));
        let s = MafbmSampler::new(&[1.0], &[1.0], Kind::TypeII, 0.1).unwrap();
        let mut rng = crate::rng::default_rng(0);
        assert!(matches!(
            s.sample_paths(&mut rng, 3, 2, &mut [0.0; 7]),
            Err(Error::ShapeMismatch { .. })
        ));
        s.sample_paths(&mut rng, 3, 0, &mut []).unwrap();
        let mut one = [1.0];
        s.sample(&mut rng, &mut one).unwrap();
        assert_eq!(one, [0.0]);
    }
}
