//! Fractional Ornstein-Uhlenbeck process driven by MA-fBM as a linear-Gaussian state-space model:
//! exact discretisation, simulation, and the exact log-evidence by a Kalman filter (the ELBO toy of
//! spec 08: for a linear model the ELBO at the optimal affine control equals the log-evidence, so
//! maximising it over `(H, theta)` is evidence maximisation without neural training).
//!
//! Paper: Daems et al., "Variational Inference for SDEs Driven by Fractional Noise", ICLR 2024,
//! arXiv 2310.12975 (model `dX = -theta X dt + sigma dBhat`, type I).
//!
//! Augmented state `Z = (X, Y_1..Y_K)`: `dZ = F Z dt + G dW` with `F[0,0] = -theta`,
//! `F[0,1+k] = -sigma omega_k gamma_k`, `F[1+k,1+k] = -gamma_k`, `G = (sigma sum omega, 1, ..., 1)`.
//! Exact step (Van Loan 1978): `E = expm([[-F, G G'], [0, F']] dt)`, `Phi = E22'`, `Q = Phi E12`
//! (symmetrised). Start: mean 0, covariance `blockdiag(0, P0)`, `P0_ij = 1/(g_i + g_j)`.
//! Observations `y_n = X(n dt) + N(0, r^2)`, `n = 1..N`.
//! Cost: `O((K+1)^3)` per observation (Kalman), one `2(K+1)`-size matrix exponential per `dt`.

use alloc::vec::Vec;

use nalgebra::{DMatrix, DVector};
use rand_core::Rng;

use super::psd::PsdFactor;
use super::weights::{gamma_grid, omega_optimal, Kind, Normalisation, MAX_K};
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// Exact one-step transition of the augmented model.
#[derive(Debug, Clone)]
pub struct FouStep {
    /// `Phi = exp(F dt)`.
    pub phi: DMatrix<f64>,
    /// Step noise covariance `Q`.
    pub q: DMatrix<f64>,
    /// Initial covariance `blockdiag(0, P0)`.
    pub p0: DMatrix<f64>,
}

/// Matrix exponential by scaling and squaring with a Taylor series: `A / 2^s` with
/// `||A / 2^s||_1 <= 1/2`, terms summed until they fall below `1e-18` relative (at most 30), then
/// squared `s` times. nalgebra's `exp` needs its `std` feature, which the core does not enable.
fn expm(a: &DMatrix<f64>) -> DMatrix<f64> {
    let n = a.nrows();
    let norm1 = (0..n)
        .map(|j| a.column(j).iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let mut s = 0i32;
    while norm1 / libm::pow(2.0, s as f64) > 0.5 && s < 1000 {
        s += 1;
    }
    let scaled = a / libm::pow(2.0, s as f64);
    let mut sum = DMatrix::identity(n, n);
    let mut term = DMatrix::identity(n, n);
    for k in 1..=30 {
        term = &term * &scaled / k as f64;
        sum += &term;
        if term.amax() <= 1e-18 * sum.amax() {
            break;
        }
    }
    for _ in 0..s {
        sum = &sum * &sum;
    }
    sum
}

/// A fractional OU model `dX = -theta X dt + sigma dBhat` (type I MA-fBM, standard normalisation).
#[derive(Debug, Clone)]
pub struct FouModel {
    theta: f64,
    sigma: f64,
    gamma: Vec<f64>,
    omega: Vec<f64>,
}

impl FouModel {
    /// From explicit speeds and weights.
    pub fn new(theta: f64, sigma: f64, gamma: &[f64], omega: &[f64]) -> Result<Self> {
        check::finite("theta", theta)?;
        check::positive("sigma", sigma)?;
        if gamma.is_empty() || gamma.len() > MAX_K - 1 {
            return Err(Error::invalid("K", gamma.len() as f64, "in 1..=31"));
        }
        check::same_len("FouModel (omega)", gamma.len(), omega.len())?;
        for &g in gamma {
            check::positive("gamma", g)?;
        }
        check::all_finite_f64("omega", omega)?;
        Ok(Self {
            theta,
            sigma,
            gamma: gamma.to_vec(),
            omega: omega.to_vec(),
        })
    }

    /// With the geometric grid `gamma_grid(K, gamma_max)` and optimal type-I weights for Hurst `h`
    /// and horizon `t_omega` (standard normalisation).
    pub fn with_hurst(
        theta: f64,
        sigma: f64,
        h: f64,
        k: usize,
        gamma_max: f64,
        t_omega: f64,
    ) -> Result<Self> {
        if !(2..MAX_K).contains(&k) {
            return Err(Error::invalid("K", k as f64, "in 2..=31"));
        }
        let mut g = [0.0; MAX_K];
        gamma_grid(gamma_max, 0, &mut g[..k])?;
        let mut w = [0.0; MAX_K];
        omega_optimal(
            &g[..k],
            h,
            t_omega,
            Kind::TypeI,
            Normalisation::Standard,
            &mut w[..k],
        )?;
        Self::new(theta, sigma, &g[..k], &w[..k])
    }

    /// State dimension `1 + K`.
    pub fn dim(&self) -> usize {
        1 + self.gamma.len()
    }

    /// Exact discretisation for step `dt` (Van Loan).
    pub fn discretise(&self, dt: f64) -> Result<FouStep> {
        check::positive("dt", dt)?;
        let n = self.dim();
        let mut f = DMatrix::zeros(n, n);
        let mut g = DVector::from_element(n, 1.0);
        f[(0, 0)] = -self.theta;
        g[0] = self.sigma * self.omega.iter().sum::<f64>();
        for (k, (&gk, &wk)) in self.gamma.iter().zip(&self.omega).enumerate() {
            f[(0, 1 + k)] = -self.sigma * wk * gk;
            f[(1 + k, 1 + k)] = -gk;
        }
        let mut m = DMatrix::zeros(2 * n, 2 * n);
        m.view_mut((0, 0), (n, n)).copy_from(&(-&f * dt));
        m.view_mut((0, n), (n, n))
            .copy_from(&(&g * g.transpose() * dt));
        m.view_mut((n, n), (n, n)).copy_from(&(f.transpose() * dt));
        let e = expm(&m);
        let phi = e.view((n, n), (n, n)).transpose();
        let q = &phi * e.view((0, n), (n, n));
        let q = (&q + q.transpose()) * 0.5;
        let mut p0 = DMatrix::zeros(n, n);
        for (i, &gi) in self.gamma.iter().enumerate() {
            for (j, &gj) in self.gamma.iter().enumerate() {
                p0[(1 + i, 1 + j)] = 1.0 / (gi + gj);
            }
        }
        if phi.iter().chain(q.iter()).any(|v| !v.is_finite()) {
            return Err(Error::Numerical("matrix exponential overflowed"));
        }
        Ok(FouStep { phi, q, p0 })
    }

    /// Exact log-evidence `log p(y_1..y_N)` of observations `y` taken every step of `step`, with
    /// observation noise sd `obs_sd`, by a Kalman filter.
    pub fn log_evidence(&self, step: &FouStep, y: &[f64], obs_sd: f64) -> Result<f64> {
        check::positive("obs_sd", obs_sd)?;
        check::all_finite_f64("observations", y)?;
        let n = self.dim();
        if step.phi.nrows() != n {
            return Err(Error::ShapeMismatch {
                op: "log_evidence (step)",
                expected: (n, n),
                got: step.phi.shape(),
            });
        }
        let r2 = obs_sd * obs_sd;
        let mut m = DVector::zeros(n);
        let mut p = step.p0.clone();
        let mut ll = 0.0;
        for &yn in y {
            m = &step.phi * m;
            p = &step.phi * p * step.phi.transpose() + &step.q;
            let s = p[(0, 0)] + r2;
            let v = yn - m[0];
            ll += -0.5 * (libm::log(2.0 * core::f64::consts::PI * s) + v * v / s);
            let kg = p.column(0) / s;
            m += &kg * v;
            p -= &kg * kg.transpose() * s;
            p = (&p + p.transpose()) * 0.5;
        }
        if !ll.is_finite() {
            return Err(Error::Numerical("Kalman log-evidence is not finite"));
        }
        Ok(ll)
    }

    /// Simulates `x` (the latent `X(n dt)`, `n = 1..N`) and `y = x + N(0, obs_sd^2)` exactly.
    pub fn simulate<R: Rng + ?Sized>(
        &self,
        step: &FouStep,
        rng: &mut R,
        obs_sd: f64,
        x: &mut [f64],
        y: &mut [f64],
    ) -> Result<()> {
        check::non_negative("obs_sd", obs_sd)?;
        check::same_len("FouModel::simulate (y)", x.len(), y.len())?;
        let n = self.dim();
        let flat = |a: &DMatrix<f64>| -> Vec<f64> { a.transpose().iter().copied().collect() };
        let fq = PsdFactor::new(&flat(&step.q), n)?;
        let f0 = PsdFactor::new(&flat(&step.p0), n)?;
        let mut z = [0.0; MAX_K];
        let mut noise = [0.0; MAX_K];
        for zi in &mut z[..f0.rank()] {
            *zi = seq::normal(rng);
        }
        let mut state = [0.0; MAX_K];
        f0.apply(&z[..f0.rank()], &mut state[..n])?;
        for (xn, yn) in x.iter_mut().zip(y.iter_mut()) {
            for zi in &mut z[..fq.rank()] {
                *zi = seq::normal(rng);
            }
            fq.apply(&z[..fq.rank()], &mut noise[..n])?;
            let mut next = [0.0; MAX_K];
            for (i, nx) in next[..n].iter_mut().enumerate() {
                *nx = (0..n).map(|j| step.phi[(i, j)] * state[j]).sum::<f64>() + noise[i];
            }
            state = next;
            *xn = state[0];
            *yn = state[0] + obs_sd * seq::normal(rng);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expm_matches_closed_form() {
        // exp([[0, t], [-t, 0]]) = [[cos t, sin t], [-sin t, cos t]].
        let t = 3.7;
        let a = DMatrix::from_row_slice(2, 2, &[0.0, t, -t, 0.0]);
        let e = expm(&a);
        assert!((e[(0, 0)] - t.cos()).abs() < 1e-13);
        assert!((e[(0, 1)] - t.sin()).abs() < 1e-13);
        let b = DMatrix::from_row_slice(2, 2, &[-2.0, 1.0, 0.0, -3.0]);
        let e = expm(&b);
        // Upper-triangular: off-diagonal (e^{-2} - e^{-3}) / (-2 + 3).
        assert!((e[(0, 1)] - ((-2.0f64).exp() - (-3.0f64).exp())).abs() < 1e-14);
    }

    #[test]
    fn van_loan_matches_scalar_ou() {
        // K = 1 with omega = 0: X is deterministic decay, Y is an OU: Phi_11 = e^{-g dt},
        // Q_11 = (1 - e^{-2 g dt}) / (2 g); Phi_00 = e^{-theta dt}.
        let m = FouModel::new(0.7, 1.0, &[2.0], &[0.0]).unwrap();
        let s = m.discretise(0.3).unwrap();
        assert!((s.phi[(0, 0)] - (-0.21f64).exp()).abs() < 1e-12);
        assert!((s.phi[(1, 1)] - (-0.6f64).exp()).abs() < 1e-12);
        assert!((s.q[(1, 1)] - (1.0 - (-1.2f64).exp()) / 4.0).abs() < 1e-12);
        assert!(s.q[(0, 0)].abs() < 1e-14);
    }

    #[test]
    fn kalman_matches_direct_gaussian_likelihood() {
        // Brute force: y ~ N(0, C + r^2 I) with C the covariance of X at the observation times,
        // computed from Phi, Q and P0 by propagating the joint covariance.
        let m = FouModel::with_hurst(1.0, 1.0, 0.7, 3, 10.0, 2.0).unwrap();
        let s = m.discretise(0.1).unwrap();
        let y = [0.1, -0.2, 0.05, 0.3, 0.2];
        let r = 0.2;
        let ll = m.log_evidence(&s, &y, r).unwrap();
        let n = m.dim();
        let nt = y.len();
        // Covariances Cov(Z_a, Z_b) = Phi^(a-b) Var(Z_b) for a >= b.
        let mut vars = Vec::new();
        let mut p = s.p0.clone();
        for _ in 0..nt {
            p = &s.phi * p * s.phi.transpose() + &s.q;
            vars.push(p.clone());
        }
        let mut c = DMatrix::zeros(nt, nt);
        for a in 0..nt {
            for b in 0..=a {
                let mut pw = DMatrix::identity(n, n);
                for _ in 0..(a - b) {
                    pw = &s.phi * pw;
                }
                let v = (pw * &vars[b])[(0, 0)];
                c[(a, b)] = v;
                c[(b, a)] = v;
            }
            c[(a, a)] += r * r;
        }
        let ch = c.clone().cholesky().unwrap();
        let yv = DVector::from_column_slice(&y);
        let quad = yv.dot(&ch.solve(&yv));
        let logdet: f64 = ch.l().diagonal().iter().map(|d| 2.0 * d.ln()).sum();
        let want = -0.5 * (nt as f64 * (2.0 * core::f64::consts::PI).ln() + logdet + quad);
        assert!((ll - want).abs() < 1e-10, "{ll} vs {want}");
    }

    #[test]
    fn simulated_variance_matches_kalman_prior() {
        let m = FouModel::with_hurst(1.0, 1.0, 0.7, 5, 20.0, 1.0).unwrap();
        let s = m.discretise(0.05).unwrap();
        let mut rng = crate::rng::default_rng(8);
        let paths = 3000;
        let mut acc = 0.0;
        let (mut x, mut y) = ([0.0; 20], [0.0; 20]);
        for _ in 0..paths {
            m.simulate(&s, &mut rng, 0.0, &mut x, &mut y).unwrap();
            acc += x[19] * x[19];
        }
        let v = acc / paths as f64;
        let mut p = s.p0.clone();
        for _ in 0..20 {
            p = &s.phi * p * s.phi.transpose() + &s.q;
        }
        let want = p[(0, 0)];
        assert!(
            (v - want).abs() < 5.0 * want * (2.0 / paths as f64).sqrt(),
            "{v} vs {want}"
        );
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            FouModel::new(1.0, 0.0, &[1.0], &[1.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            FouModel::new(1.0, 1.0, &[], &[]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            FouModel::with_hurst(1.0, 1.0, 1.2, 5, 20.0, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        let m = FouModel::new(1.0, 1.0, &[1.0], &[1.0]).unwrap();
        assert!(matches!(m.discretise(0.0), Err(Error::InvalidParam { .. })));
        let s = m.discretise(0.1).unwrap();
        assert!(matches!(
            m.log_evidence(&s, &[f64::NAN], 0.1),
            Err(Error::NonFinite { .. })
        ));
    }
}
