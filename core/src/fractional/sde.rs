//! Euler-Maruyama for SDEs driven by Markov-approximate fBM, with a variational control and the
//! path KL term of the ELBO.
//!
//! Paper: Daems et al., "Variational Inference for SDEs Driven by Fractional Noise", ICLR 2024,
//! arXiv 2310.12975; reference code `sde/jax/markov_approximation.py::solve_vector` and
//! `models.py::FractionalSDE`.
//!
//! Prior `dX = b(t, X) dt + s(t, X) dBhat`, `dBhat = sum_k omega_k dY_k`, `dY_k = -g_k Y_k dt + dW`
//! (one OU bank and one Brownian motion per state dimension, `s` diagonal). Posterior: a control
//! `u(t, X, Y)` added to the shared noise, `dY_k = (-g_k Y_k + u) dt + dW`. Girsanov gives
//! `KL(Q || P) = E_Q 0.5 int |u|^2 dt`, so `ELBO = E_Q[sum log p(o | X)] - KL(q(X0) || p(X0)) - KL`.
//! Discretisation exactly as the code: per step `dW ~ N(0, dt)`, `dY = -g Y dt + u dt + dW`,
//! `dX = b dt + s (omega . dY)`, `log_path += 0.5 |u|^2 dt`. Type I starts `Y_0 ~ N(0, P0)`,
//! type II `Y_0 = 0`. Like the code's `check_dt`, `gamma_max * dt < 0.5` is required.
//! Cost per step: `O(d K)` plus the drift, diffusion and control evaluations.

use alloc::vec;

use rand_core::Rng;

use super::psd::PsdFactor;
use super::weights::{Kind, MAX_K};
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// The noise model of the SDE: OU speeds, weights, representation, step and step count.
#[derive(Debug, Clone, Copy)]
pub struct MafbmNoise<'a> {
    /// OU speeds `gamma` (`K`).
    pub gamma: &'a [f64],
    /// Weights `omega` (`K`), any normalisation.
    pub omega: &'a [f64],
    /// Type I or II.
    pub kind: Kind,
    /// Euler step.
    pub dt: f64,
    /// Number of steps.
    pub n_steps: usize,
}

/// `0.5 sum_n |u_n|^2 dt`: the discretised path KL of a scalar control sequence.
pub fn path_kl(u: &[f64], dt: f64) -> Result<f64> {
    check::positive("dt", dt)?;
    check::all_finite_f64("control", u)?;
    Ok(0.5 * u.iter().map(|v| v * v).sum::<f64>() * dt)
}

/// Integrates one path from `x0` (dimension `d`) into `path` (row-major `[n_steps + 1, d]`) and
/// returns the accumulated `0.5 int |u|^2 dt`.
///
/// `drift(t, x, out)` and `diffusion(t, x, out)` write `d` values (diffusion is diagonal);
/// `control(t, x, y, out)` reads the OU states `y` (row-major `[d, K]`) and writes `d` values (fill
/// zeros for the prior). Errors: `gamma_max * dt >= 0.5` or bad inputs -> `InvalidParam`/
/// `ShapeMismatch`; a NaN/inf in the state or control -> `NonFinite` with the step index.
pub fn euler_mafbm<R, B, S, U>(
    noise: &MafbmNoise<'_>,
    x0: &[f64],
    mut drift: B,
    mut diffusion: S,
    mut control: U,
    rng: &mut R,
    path: &mut [f64],
) -> Result<f64>
where
    R: Rng + ?Sized,
    B: FnMut(f64, &[f64], &mut [f64]),
    S: FnMut(f64, &[f64], &mut [f64]),
    U: FnMut(f64, &[f64], &[f64], &mut [f64]),
{
    let (gamma, omega) = (noise.gamma, noise.omega);
    let k = gamma.len();
    if k == 0 || k > MAX_K {
        return Err(Error::invalid("K", k as f64, "in 1..=32"));
    }
    check::same_len("euler_mafbm (omega)", k, omega.len())?;
    check::all_finite_f64("omega", omega)?;
    let mut gmax: f64 = 0.0;
    for &g in gamma {
        check::non_negative("gamma", g)?;
        gmax = gmax.max(g);
    }
    check::positive("dt", noise.dt)?;
    if gmax * noise.dt >= 0.5 {
        return Err(Error::invalid(
            "dt",
            noise.dt,
            "dt < 0.5 / gamma_max (Euler stability)",
        ));
    }
    let d = x0.len();
    check::nonzero("state dimension", d)?;
    check::all_finite_f64("x0", x0)?;
    let rows = noise
        .n_steps
        .checked_add(1)
        .and_then(|r| r.checked_mul(d))
        .ok_or(Error::invalid(
            "n_steps",
            noise.n_steps as f64,
            "small enough to fit in memory",
        ))?;
    check::same_len("euler_mafbm (path)", rows, path.len())?;
    let dt = noise.dt;
    let sdt = libm::sqrt(dt);
    let mut y = vec![0.0; d * k];
    if noise.kind == Kind::TypeI {
        let mut p0 = [0.0; MAX_K * MAX_K];
        for i in 0..k {
            for j in 0..k {
                let s = gamma[i] + gamma[j];
                if s <= 0.0 {
                    return Err(Error::invalid(
                        "gamma",
                        0.0,
                        "> 0 for type I (stationary start)",
                    ));
                }
                p0[i * k + j] = 1.0 / s;
            }
        }
        let f = PsdFactor::new(&p0[..k * k], k)?;
        let mut z = [0.0; MAX_K];
        for row in y.chunks_exact_mut(k) {
            for zi in &mut z[..f.rank()] {
                *zi = seq::normal(rng);
            }
            f.apply(&z[..f.rank()], row)?;
        }
    }
    let mut x = x0.to_vec();
    let (mut b, mut s, mut u) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
    path[..d].copy_from_slice(x0);
    let mut log_path = 0.0;
    for (step, out) in path[d..].chunks_exact_mut(d).enumerate() {
        let t = step as f64 * dt;
        drift(t, &x, &mut b);
        diffusion(t, &x, &mut s);
        control(t, &x, &y, &mut u);
        if u.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "control (at step)",
                index: step,
            });
        }
        for i in 0..d {
            let dw = sdt * seq::normal(rng);
            let mut db = 0.0;
            for (j, yk) in y[i * k..(i + 1) * k].iter_mut().enumerate() {
                let dy = (-gamma[j] * *yk + u[i]) * dt + dw;
                *yk += dy;
                db += omega[j] * dy;
            }
            x[i] += b[i] * dt + s[i] * db;
            log_path += 0.5 * u[i] * u[i] * dt;
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "SDE state (at step)",
                index: step,
            });
        }
        out.copy_from_slice(&x);
    }
    Ok(log_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_kl_matches_spec() {
        assert!((path_kl(&[0.5, -1.0, 2.0], 0.1).unwrap() - 0.2625).abs() < 1e-15);
    }

    #[test]
    fn plain_brownian_motion_limit() {
        // gamma = [0], omega = [1], type II: dX = dW, so Var X(1) = 1 (reference code's hurst = -1).
        let noise = MafbmNoise {
            gamma: &[0.0],
            omega: &[1.0],
            kind: Kind::TypeII,
            dt: 0.01,
            n_steps: 100,
        };
        let mut rng = crate::rng::default_rng(2);
        let mut path = vec![0.0; 101];
        let n = 4000;
        let mut acc = 0.0;
        for _ in 0..n {
            euler_mafbm(
                &noise,
                &[0.0],
                |_, _, b| b[0] = 0.0,
                |_, _, s| s[0] = 1.0,
                |_, _, _, u| u[0] = 0.0,
                &mut rng,
                &mut path,
            )
            .unwrap();
            acc += path[100] * path[100];
        }
        let v = acc / n as f64;
        assert!((v - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(), "{v}");
    }

    #[test]
    fn constant_control_shifts_mean_and_costs_kl() {
        // dY = (-gY + u) dt + dW with omega = 1, g -> small: X(T) mean ~ u T; KL = 0.5 u^2 T.
        let noise = MafbmNoise {
            gamma: &[1e-6],
            omega: &[1.0],
            kind: Kind::TypeII,
            dt: 0.01,
            n_steps: 100,
        };
        let mut rng = crate::rng::default_rng(3);
        let mut path = vec![0.0; 101];
        let n = 2000;
        let mut mean = 0.0;
        let mut kl = 0.0;
        for _ in 0..n {
            kl = euler_mafbm(
                &noise,
                &[0.0],
                |_, _, b| b[0] = 0.0,
                |_, _, s| s[0] = 1.0,
                |_, _, _, u| u[0] = 2.0,
                &mut rng,
                &mut path,
            )
            .unwrap();
            mean += path[100] / n as f64;
        }
        assert!((kl - 0.5 * 4.0 * 1.0).abs() < 1e-9, "{kl}");
        assert!((mean - 2.0).abs() < 5.0 / (n as f64).sqrt(), "{mean}");
    }

    #[test]
    fn bad_input_is_typed() {
        let mut rng = crate::rng::default_rng(0);
        let mut path = vec![0.0; 11];
        let zero = |_: f64, _: &[f64], o: &mut [f64]| o.fill(0.0);
        let noctl = |_: f64, _: &[f64], _: &[f64], o: &mut [f64]| o.fill(0.0);
        let noise = MafbmNoise {
            gamma: &[20.0],
            omega: &[1.0],
            kind: Kind::TypeI,
            dt: 0.05,
            n_steps: 10,
        };
        assert!(matches!(
            euler_mafbm(&noise, &[0.0], zero, zero, noctl, &mut rng, &mut path),
            Err(Error::InvalidParam { .. })
        ));
        let noise = MafbmNoise {
            gamma: &[1.0],
            omega: &[1.0],
            kind: Kind::TypeI,
            dt: 0.01,
            n_steps: 10,
        };
        assert!(matches!(
            euler_mafbm(&noise, &[0.0], zero, zero, noctl, &mut rng, &mut path[..5]),
            Err(Error::ShapeMismatch { .. })
        ));
        let nan = |_: f64, _: &[f64], _: &[f64], o: &mut [f64]| o.fill(f64::NAN);
        assert!(matches!(
            euler_mafbm(&noise, &[0.0], zero, zero, nan, &mut rng, &mut path),
            Err(Error::NonFinite { index: 0, .. })
        ));
        let blow = |_: f64, x: &[f64], o: &mut [f64]| o[0] = 1e300 * (1.0 + x[0].abs());
        assert!(matches!(
            euler_mafbm(&noise, &[0.0], blow, zero, noctl, &mut rng, &mut path),
            Err(Error::NonFinite { .. })
        ));
        let empty = MafbmNoise {
            gamma: &[],
            omega: &[],
            kind: Kind::TypeI,
            dt: 0.01,
            n_steps: 10,
        };
        assert!(matches!(
            euler_mafbm(&empty, &[0.0], zero, zero, noctl, &mut rng, &mut path),
            Err(Error::InvalidParam { .. })
        ));
    }
}
