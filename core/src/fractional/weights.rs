//! Markov-approximate fBM (MA-fBM): the geometric grid of OU speeds and the closed-form optimal
//! weights.
//!
//! Paper: Daems, Opper, Crevecoeur, Birdal, "Variational Inference for SDEs Driven by Fractional
//! Noise", ICLR 2024, arXiv 2310.12975; reference code `VideoNeuralSDE/MAFBM`,
//! `sde/jax/markov_approximation.py` (`gamma_by_gamma_max`, `omega_optimized_1/2`).
//!
//! fBM is approximated by `Bhat(t) = sum_k omega_k (Y_k(t) - Y_k(0))` (type I) or
//! `sum_k omega_k Y_k(t)` (type II), with `dY_k = -gamma_k Y_k dt + dW` sharing one Brownian motion.
//!
//! Grid: `r = gamma_max^(2 / (K - 1 - 2 offset))`, `n = (K + 1) / 2 + offset`, `gamma_k = r^(k - n)`,
//! `k = 1..K`.
//!
//! Weights minimise `J(omega) = int_0^T E (B(t) - Bhat(t))^2 dt = omega' A omega - 2 b' omega + c`,
//! so `A omega = b`, with `alpha = H + 1/2`:
//! - type I: `A_ij = (2T + (e^{-g_i T} - 1)/g_i + (e^{-g_j T} - 1)/g_j) / (g_i + g_j)`,
//!   `b_k = 2T g_k^-alpha - T^alpha / (g_k Gamma(alpha + 1)) + (e^{-g_k T} - Q(alpha, g_k T) e^{g_k T}) / g_k^(alpha+1)`,
//!   `c = V_H T^(2H+1) / (2H + 1)`;
//! - type II: `A_ij = (T + (e^{-(g_i+g_j) T} - 1)/(g_i + g_j)) / (g_i + g_j)`,
//!   `b_k = T g_k^-alpha P(alpha, g_k T) - alpha g_k^(-alpha-1) P(alpha + 1, g_k T)`,
//!   `c = T^(2H+1) / (2H (2H+1) Gamma(alpha)^2)`.
//!
//! Normalisation: these weights target the process with the `1/Gamma(alpha)` prefactor, whose
//! variance is `V_H t^2H` (`V_H = 1/(Gamma(2H+1) sin(pi H))`), not standard fBM. [`Normalisation::Standard`]
//! (the default) divides type-I weights by `sqrt(V_H)` so that `Bhat` approximates standard fBM
//! (`Var = t^2H`); [`Normalisation::Paper`] returns the reference code's weights. Type II is not
//! standard fBM (variance `t^2H / (2H Gamma(alpha)^2)`), so both normalisations give the paper weights.
//!
//! Correction to the reference code: its `return_cost` diagnostic for type I uses
//! `c = T^(2H+1)/(2H+1)` and `omega' A omega - b' omega + c`; [`objective_ratio`] uses the formula
//! above. `A` is SPD but badly conditioned (cond ~ 5e2 for K = 5, gamma_max = 20; ~2e7 for K = 20,
//! gamma_max = 1000): the solve is done in f64 by an in-place Cholesky on the `K x K` system
//! ([`crate::linalg::cholesky_solve_in_place`]), falling back to LU with partial pivoting; no
//! allocator and about 8 KiB of stack.
//! Cost: `O(K^3)` once per `(H, T)`, `K <= 32`.

use super::special::{gamma_p, qez, v_h};
use crate::error::{check, Error, Result};
use crate::linalg::{cholesky_solve_in_place, lu_solve_in_place};

/// Largest number of OU components (beyond it the system is too ill-conditioned to be useful).
pub const MAX_K: usize = 32;

/// Which fBM representation is approximated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Mandelbrot-Van Ness (stationary increments, `Y(0) ~ N(0, P0)`); the paper's default.
    #[default]
    TypeI,
    /// Riemann-Liouville (`Y(0) = 0`); not stationary increments.
    TypeII,
}

/// Scale of the returned weights (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalisation {
    /// Standard fBM, `Var B(t) = t^2H` (type I weights divided by `sqrt(V_H)`).
    #[default]
    Standard,
    /// The reference code's weights (target variance `V_H t^2H`).
    Paper,
}

/// Geometric grid of `K = out.len()` OU speeds with largest speed `gamma_max` (for `offset = 0`,
/// symmetric in log space around 1: `gamma_1 = 1 / gamma_max`).
pub fn gamma_grid(gamma_max: f64, offset: i32, out: &mut [f64]) -> Result<()> {
    let k = out.len();
    if !(2..=MAX_K).contains(&k) {
        return Err(Error::invalid(
            "K",
            k as f64,
            "in 2..=32 (K = 1: pass gamma explicitly)",
        ));
    }
    if !(gamma_max.is_finite() && gamma_max > 1.0) {
        return Err(Error::invalid(
            "gamma_max",
            gamma_max,
            "a finite number > 1",
        ));
    }
    let denom = k as f64 - 1.0 - 2.0 * offset as f64;
    if denom <= 0.0 {
        return Err(Error::invalid("offset", offset as f64, "< (K - 1) / 2"));
    }
    let r = libm::pow(gamma_max, 2.0 / denom);
    let n = (k as f64 + 1.0) / 2.0 + offset as f64;
    for (i, g) in out.iter_mut().enumerate() {
        *g = libm::pow(r, (i + 1) as f64 - n);
    }
    Ok(())
}

/// Validates `gamma` (1..=32 finite positive speeds, all distinct), `H` and `T`.
pub(crate) fn check_inputs(gamma: &[f64], h: f64, t: f64) -> Result<()> {
    if gamma.is_empty() || gamma.len() > MAX_K {
        return Err(Error::invalid("K", gamma.len() as f64, "in 1..=32"));
    }
    check::open("H", h, 0.0, 1.0, "in (0, 1)")?;
    check::positive("T", t)?;
    for &g in gamma {
        check::positive("gamma", g)?;
    }
    Ok(())
}

/// Fills the normal equations of `J`: `a` (row-major `K x K`) and `b` (`K`); returns `c`.
pub fn normal_equations(
    gamma: &[f64],
    h: f64,
    t: f64,
    kind: Kind,
    a: &mut [f64],
    b: &mut [f64],
) -> Result<f64> {
    check_inputs(gamma, h, t)?;
    let k = gamma.len();
    check::same_len("normal_equations (a)", k * k, a.len())?;
    check::same_len("normal_equations (b)", k, b.len())?;
    let alpha = h + 0.5;
    for (i, &gi) in gamma.iter().enumerate() {
        for (j, &gj) in gamma.iter().enumerate() {
            let s = gi + gj;
            a[i * k + j] = match kind {
                Kind::TypeI => {
                    (2.0 * t + libm::expm1(-gi * t) / gi + libm::expm1(-gj * t) / gj) / s
                }
                Kind::TypeII => (t + libm::expm1(-s * t) / s) / s,
            };
        }
        b[i] = match kind {
            Kind::TypeI => {
                2.0 * t / libm::pow(gi, alpha)
                    - libm::pow(t, alpha) / (gi * libm::tgamma(alpha + 1.0))
                    + (libm::exp(-gi * t) - qez(alpha, gi * t)?) / libm::pow(gi, alpha + 1.0)
            }
            Kind::TypeII => {
                t * libm::pow(gi, -alpha) * gamma_p(alpha, gi * t)?
                    - alpha * libm::pow(gi, -alpha - 1.0) * gamma_p(alpha + 1.0, gi * t)?
            }
        };
    }
    Ok(match kind {
        Kind::TypeI => v_h(h)? * libm::pow(t, 2.0 * h + 1.0) / (2.0 * h + 1.0),
        Kind::TypeII => {
            let ga = libm::tgamma(alpha);
            libm::pow(t, 2.0 * h + 1.0) / (2.0 * h * (2.0 * h + 1.0) * ga * ga)
        }
    })
}

/// Scale factor applied to paper weights for `norm`.
pub fn norm_scale(h: f64, kind: Kind, norm: Normalisation) -> Result<f64> {
    Ok(match (kind, norm) {
        (Kind::TypeI, Normalisation::Standard) => 1.0 / libm::sqrt(v_h(h)?),
        _ => 1.0,
    })
}

/// Closed-form optimal weights for speeds `gamma`, Hurst `h`, horizon `t`, written to `out`
/// (length `K`). Errors: bad `H`/`T`/`gamma` -> `InvalidParam`; duplicate speeds (singular `A`) or
/// a failed solve -> `Numerical`.
pub fn omega_optimal(
    gamma: &[f64],
    h: f64,
    t: f64,
    kind: Kind,
    norm: Normalisation,
    out: &mut [f64],
) -> Result<()> {
    check_inputs(gamma, h, t)?;
    let k = gamma.len();
    check::same_len("omega_optimal (out)", k, out.len())?;
    for i in 0..k {
        for j in 0..i {
            if (gamma[i] - gamma[j]).abs() <= 1e-12 * gamma[i].max(gamma[j]) {
                return Err(Error::Numerical(
                    "duplicate gamma: the weight system is singular",
                ));
            }
        }
    }
    // Solved in place on the K x K system (a padded 32 x 32 nalgebra solve costs ~60 KiB of
    // stack, too much for a microcontroller): Cholesky, and LU with partial pivoting when the
    // badly conditioned Gram matrix is not numerically positive definite.
    let mut a = [0.0; MAX_K * MAX_K];
    let mut b = [0.0; MAX_K];
    normal_equations(gamma, h, t, kind, &mut a[..k * k], &mut b[..k])?;
    if !cholesky_solve_in_place(&mut a[..k * k], &mut b[..k], k) {
        normal_equations(gamma, h, t, kind, &mut a[..k * k], &mut b[..k])?;
        if !lu_solve_in_place(&mut a[..k * k], &mut b[..k], k) {
            return Err(Error::Numerical("weight system is singular"));
        }
    }
    let sol = &b[..k];
    let scale = norm_scale(h, kind, norm)?;
    for (o, s) in out.iter_mut().zip(sol.iter()) {
        if !s.is_finite() {
            return Err(Error::Numerical("weight solve produced a non-finite value"));
        }
        *o = s * scale;
    }
    Ok(())
}

/// `J(omega) / c`: the time-integrated mean-squared error of the approximation relative to the
/// integrated variance of the target, for weights `omega` given in normalisation `norm`.
pub fn objective_ratio(
    gamma: &[f64],
    omega: &[f64],
    h: f64,
    t: f64,
    kind: Kind,
    norm: Normalisation,
) -> Result<f64> {
    check_inputs(gamma, h, t)?;
    let k = gamma.len();
    check::same_len("objective_ratio (omega)", k, omega.len())?;
    let mut a = [0.0; MAX_K * MAX_K];
    let mut b = [0.0; MAX_K];
    let c = normal_equations(gamma, h, t, kind, &mut a[..k * k], &mut b[..k])?;
    let scale = norm_scale(h, kind, norm)?;
    let mut j = c;
    for i in 0..k {
        let wi = omega[i] / scale;
        j -= 2.0 * b[i] * wi;
        for l in 0..k {
            j += wi * a[i * k + l] * omega[l] / scale;
        }
    }
    Ok(j / c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    fn g5() -> [f64; 5] {
        let mut g = [0.0; 5];
        gamma_grid(20.0, 0, &mut g).unwrap();
        g
    }

    #[test]
    fn grid_matches_spec() {
        let want = [0.05, 0.22360679775, 1.0, 4.472135955, 20.0];
        for (g, w) in g5().iter().zip(want) {
            assert!(close(*g, w, 1e-10), "{g} vs {w}");
        }
    }

    #[test]
    fn system_matches_spec_h03() {
        let g = g5();
        let mut a = [0.0; 25];
        let mut b = [0.0; 5];
        normal_equations(&g, 0.3, 1.0, Kind::TypeI, &mut a, &mut b).unwrap();
        let row0 = [
            0.4917698003,
            0.4696678703,
            0.3737789821,
            0.1776894672,
            0.0486079047,
        ];
        for (x, w) in a[..5].iter().zip(row0) {
            assert!(close(*x, w, 1e-9));
        }
        assert!(close(a[24], 0.0475, 1e-9));
        let bw = [
            0.5981213502,
            0.5916786429,
            0.5292040361,
            0.3227215835,
            0.1262458219,
        ];
        for (x, w) in b.iter().zip(bw) {
            assert!(close(*x, w, 1e-8), "{x} vs {w}");
        }
    }

    #[test]
    fn omega_type1_matches_spec() {
        let g = g5();
        let mut w = [0.0; 5];
        omega_optimal(&g, 0.3, 1.0, Kind::TypeI, Normalisation::Paper, &mut w).unwrap();
        let want = [
            0.8044076905,
            -0.1115189793,
            0.4874145097,
            0.0845057554,
            1.1873324044,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-8), "{x} vs {y}");
        }
        omega_optimal(&g, 0.3, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        let want = [
            0.6839211668,
            -0.0948153422,
            0.4144081467,
            0.0718482375,
            1.0094903032,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-8), "{x} vs {y}");
        }
        assert!(close(w.iter().sum::<f64>(), 2.0848525121, 1e-9));
        let r = objective_ratio(&g, &w, 0.3, 1.0, Kind::TypeI, Normalisation::Standard).unwrap();
        assert!(close(r, 0.0165980846, 1e-7), "{r}");

        omega_optimal(&g, 0.7, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        let want = [
            2.2675420302,
            -1.4241379523,
            0.0198367845,
            -0.3114636884,
            -0.1774457521,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-8), "{x} vs {y}");
        }
        let r = objective_ratio(&g, &w, 0.7, 1.0, Kind::TypeI, Normalisation::Standard).unwrap();
        assert!(close(r, 0.0978629257, 1e-7), "{r}");

        omega_optimal(&g, 0.5, 1.0, Kind::TypeI, Normalisation::Paper, &mut w).unwrap();
        let want = [
            1.3954375242,
            -0.5152459317,
            0.154406723,
            -0.0658654019,
            0.0312670864,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-8), "{x} vs {y}");
        }
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn omega_type2_matches_spec() {
        let g = g5();
        let mut w = [0.0; 5];
        omega_optimal(&g, 0.3, 1.0, Kind::TypeII, Normalisation::Paper, &mut w).unwrap();
        let want = [
            28.1741216987,
            -38.3511064113,
            13.2624729142,
            -2.2915060756,
            1.7723464286,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-7), "{x} vs {y}");
        }
        omega_optimal(&g, 0.7, 1.0, Kind::TypeII, Normalisation::Standard, &mut w).unwrap();
        let want = [
            -0.9348408082,
            3.2680496093,
            -1.7713108714,
            0.1156314021,
            -0.3154678371,
        ];
        for (x, y) in w.iter().zip(want) {
            assert!(close(*x, y, 1e-7), "{x} vs {y}");
        }
    }

    #[test]
    fn sum_of_weights_not_an_identity() {
        // Spec: K = 2, gamma_max = 5, T = 2 -> 0.8434443077; K = 10, gamma_max = 100 -> 0.9974190860.
        let mut g = [0.0; 2];
        gamma_grid(5.0, 0, &mut g).unwrap();
        let mut w = [0.0; 2];
        omega_optimal(&g, 0.5, 2.0, Kind::TypeI, Normalisation::Paper, &mut w).unwrap();
        assert!(close(w.iter().sum(), 0.8434443077, 1e-8));
        let mut g = [0.0; 10];
        gamma_grid(100.0, 0, &mut g).unwrap();
        let mut w = [0.0; 10];
        omega_optimal(&g, 0.5, 1.0, Kind::TypeI, Normalisation::Paper, &mut w).unwrap();
        assert!(close(w.iter().sum(), 0.9974190860, 1e-8));
    }

    #[test]
    fn optimum_beats_perturbations() {
        let g = g5();
        let mut w = [0.0; 5];
        omega_optimal(&g, 0.7, 1.0, Kind::TypeI, Normalisation::Standard, &mut w).unwrap();
        let j0 = objective_ratio(&g, &w, 0.7, 1.0, Kind::TypeI, Normalisation::Standard).unwrap();
        for i in 0..5 {
            for d in [-1e-3, 1e-3] {
                let mut p = w;
                p[i] += d;
                let j = objective_ratio(&g, &p, 0.7, 1.0, Kind::TypeI, Normalisation::Standard)
                    .unwrap();
                assert!(j > j0);
            }
        }
    }

    #[test]
    fn bad_input_is_typed() {
        let mut g1 = [0.0; 1];
        assert!(matches!(
            gamma_grid(20.0, 0, &mut g1),
            Err(Error::InvalidParam { .. })
        ));
        let mut g = [0.0; 3];
        assert!(matches!(
            gamma_grid(1.0, 0, &mut g),
            Err(Error::InvalidParam { .. })
        ));
        let g = g5();
        let mut w = [0.0; 5];
        for (h, t) in [
            (0.0, 1.0),
            (1.0, 1.0),
            (0.5, 0.0),
            (0.5, -1.0),
            (f64::NAN, 1.0),
        ] {
            assert!(matches!(
                omega_optimal(&g, h, t, Kind::TypeI, Normalisation::Standard, &mut w),
                Err(Error::InvalidParam { .. })
            ));
        }
        assert!(matches!(
            omega_optimal(&[], 0.5, 1.0, Kind::TypeI, Normalisation::Standard, &mut []),
            Err(Error::InvalidParam { .. })
        ));
        let mut w2 = [0.0; 2];
        assert!(matches!(
            omega_optimal(
                &[1.0, 1.0],
                0.5,
                1.0,
                Kind::TypeI,
                Normalisation::Standard,
                &mut w2
            ),
            Err(Error::Numerical(_))
        ));
        assert!(matches!(
            omega_optimal(
                &[1.0, -1.0],
                0.5,
                1.0,
                Kind::TypeI,
                Normalisation::Standard,
                &mut w2
            ),
            Err(Error::InvalidParam { .. })
        ));
    }
}
