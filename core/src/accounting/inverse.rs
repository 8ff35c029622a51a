//! Inverse problems of the RDP accountant: epsilon for `(q, z, steps, delta)`, the noise
//! multiplier for a target epsilon, the number of steps a budget allows.
//!
//! `eps(z)` (improved conversion, Balle et al. 2020, arXiv 1905.09982) is continuous and
//! non-increasing in `z`, so:
//! - [`noise_for_target`] (exact): `z_hi = 20`, doubled while `eps(z_hi) > target` (error past
//!   `1e6`), then bisection on `[z_hi/2 or 0, z_hi]` until the relative width is `< 1e-12` (at most
//!   200 halvings); returns the upper end, which always meets the budget.
//! - [`noise_for_target_opacus`]: Opacus `get_noise_multiplier` (opacus/accountants/utils.py):
//!   `sigma_low = 0, sigma_high = 10`; double `sigma_high` while `eps_high > target`; then bisect,
//!   replacing `sigma_high` whenever `eps(mid) < target`, until `target - eps_high <= tol`
//!   (Opacus default 0.01). Returns a slightly larger sigma than needed; reproduces Opacus' dyadic
//!   values bit for bit.
//! - [`steps_for_target`]: the largest `T` with `eps(T) <= target` (doubling + integer bisection
//!   on `T * R_1`, the per-step curve computed once).
//!
//! Cost: one curve (K orders x series terms) per evaluation; ~50 evaluations per bisection.

use super::convert::{epsilon_from_rdp, Conversion, Guarantee};
use super::ledger::{sgm_curve, MAX_ORDERS};
use super::sgm::{check_q, check_z};
use crate::error::{Error, Result};

fn check_grid(orders: &[f64]) -> Result<()> {
    if orders.len() > MAX_ORDERS {
        return Err(Error::CapacityExceeded {
            what: "RDP order grid",
            capacity: MAX_ORDERS,
            needed: orders.len(),
        });
    }
    Ok(())
}

fn check_target(eps: f64, delta: f64) -> Result<()> {
    if !(eps.is_finite() && eps > 0.0) {
        return Err(Error::invalid(
            "epsilon (target)",
            eps,
            "a finite number > 0",
        ));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(Error::invalid("delta", delta, "in (0, 1)"));
    }
    Ok(())
}

/// Epsilon (improved conversion) of `steps` steps of the SGM `(q, z)` at `delta` over `orders`.
pub fn epsilon_for(q: f64, z: f64, steps: u64, delta: f64, orders: &[f64]) -> Result<Guarantee> {
    epsilon_for_with(q, z, steps, delta, orders, Conversion::Improved)
}

/// Like [`epsilon_for`] with a chosen conversion.
pub fn epsilon_for_with(
    q: f64,
    z: f64,
    steps: u64,
    delta: f64,
    orders: &[f64],
    conversion: Conversion,
) -> Result<Guarantee> {
    check_grid(orders)?;
    let mut buf = [0.0f64; MAX_ORDERS];
    let k = orders.len();
    sgm_curve(q, z, steps, orders, &mut buf[..k])?;
    epsilon_from_rdp(orders, &buf[..k], delta, conversion)
}

/// Largest `z` searched before giving up.
pub const MAX_SIGMA: f64 = 1.0e6;

fn budget_too_small(target: f64) -> Error {
    Error::invalid(
        "epsilon (target)",
        target,
        "reachable with a noise multiplier <= 1e6 (budget too small)",
    )
}

/// The smallest noise multiplier (to relative `1e-12`) whose `steps` SGM steps at rate `q` spend
/// at most `target` epsilon at `delta` (improved conversion). `q == 0` or `steps == 0` -> `0`.
pub fn noise_for_target(
    target: f64,
    delta: f64,
    q: f64,
    steps: u64,
    orders: &[f64],
) -> Result<f64> {
    check_target(target, delta)?;
    check_q(q)?;
    check_grid(orders)?;
    if q == 0.0 || steps == 0 {
        return Ok(0.0);
    }
    let eps = |z: f64| epsilon_for(q, z, steps, delta, orders).map(|g| g.value);
    let mut hi = 20.0;
    let mut lo = 0.0;
    while eps(hi)? > target {
        lo = hi;
        hi *= 2.0;
        if hi > MAX_SIGMA {
            return Err(budget_too_small(target));
        }
    }
    for _ in 0..200 {
        if hi - lo <= 1e-12 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if eps(mid)? <= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// Opacus' `get_noise_multiplier` (RDP accountant) with tolerance `tol` (Opacus: 0.01).
pub fn noise_for_target_opacus(
    target: f64,
    delta: f64,
    q: f64,
    steps: u64,
    orders: &[f64],
    tol: f64,
) -> Result<f64> {
    check_target(target, delta)?;
    check_q(q)?;
    check_grid(orders)?;
    if !(tol.is_finite() && tol > 0.0) {
        return Err(Error::invalid(
            "epsilon tolerance",
            tol,
            "a finite number > 0",
        ));
    }
    let eps = |z: f64| epsilon_for(q, z, steps, delta, orders).map(|g| g.value);
    let mut eps_high = f64::INFINITY;
    let mut sigma_low = 0.0f64;
    let mut sigma_high = 10.0f64;
    while eps_high > target {
        sigma_high *= 2.0;
        eps_high = eps(sigma_high)?;
        if sigma_high > MAX_SIGMA {
            return Err(budget_too_small(target));
        }
    }
    let mut iters = 0;
    while target - eps_high > tol {
        let sigma = 0.5 * (sigma_low + sigma_high);
        let e = eps(sigma)?;
        if e < target {
            sigma_high = sigma;
            eps_high = e;
        } else {
            sigma_low = sigma;
        }
        iters += 1;
        if iters > 2000 {
            return Err(Error::Numerical(
                "opacus-compatible sigma search did not converge",
            ));
        }
    }
    Ok(sigma_high)
}

/// The largest number of steps of the SGM `(q, z)` that keeps epsilon at `delta` within `target`
/// (improved conversion); `u64::MAX` if the curve is zero (q = 0).
pub fn steps_for_target(target: f64, delta: f64, q: f64, z: f64, orders: &[f64]) -> Result<u64> {
    check_target(target, delta)?;
    check_q(q)?;
    check_z(z)?;
    check_grid(orders)?;
    let k = orders.len();
    let mut one = [0.0f64; MAX_ORDERS];
    sgm_curve(q, z, 1, orders, &mut one[..k])?;
    if one[..k].iter().all(|&r| r == 0.0) {
        return Ok(u64::MAX);
    }
    let eps = |t: u64| -> Result<f64> {
        let mut c = [0.0f64; MAX_ORDERS];
        for (o, &r) in c[..k].iter_mut().zip(&one[..k]) {
            *o = t as f64 * r;
        }
        epsilon_from_rdp(orders, &c[..k], delta, Conversion::Improved).map(|g| g.value)
    };
    if eps(1)? > target {
        return Ok(0);
    }
    let mut lo = 1u64;
    let mut hi = 2u64;
    while eps(hi)? <= target {
        lo = hi;
        if hi >= u64::MAX / 2 {
            return Ok(hi);
        }
        hi *= 2;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if eps(mid)? <= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::orders::{DP_ACCOUNTING_ORDERS, OPACUS_ORDERS};

    const INVERSE: [(f64, f64, f64, u64, f64, f64); 5] = [
        (1.0, 1e-5, 0.01, 1000, 1.513_122_162_6, 1.523_437_5),
        (3.0, 1e-5, 0.01, 1000, 0.864_602_103_9, 0.865_478_515_625),
        (8.0, 1e-5, 0.01, 10000, 0.916_827_632_5, 0.917_358_398_437_5),
        (6.0, 1e-5, 0.004, 2500, 0.593_018_616_5, 0.593_261_718_75),
        (2.0, 1e-5, 0.02, 500, 1.260_557_247_0, 1.262_207_031_25),
    ];

    #[test]
    fn inverse_sigma_matches_spec_table() {
        for (eps, delta, q, t, exact, opacus) in INVERSE {
            let z = noise_for_target(eps, delta, q, t, &OPACUS_ORDERS).unwrap();
            // The spec prints 10 decimals: compare at that precision.
            assert!((z - exact).abs() < 6e-11, "exact {z} vs {exact}");
            let got = epsilon_for(q, z, t, delta, &OPACUS_ORDERS).unwrap().value;
            assert!(got <= eps && got > eps - 1e-9);
            let zo = noise_for_target_opacus(eps, delta, q, t, &OPACUS_ORDERS, 0.01).unwrap();
            assert_eq!(zo, opacus);
        }
    }

    /// Spec golden table: (q, z, steps, delta, classic eps, classic order, improved eps, order).
    #[allow(clippy::type_complexity)]
    const GOLDEN: [(f64, f64, u64, f64, f64, f64, f64, f64); 10] = [
        (
            0.01,
            1.1,
            10000,
            1e-5,
            6.278710279138394,
            4.9,
            5.63199236854841,
            4.7,
        ),
        (
            0.004,
            1.0,
            1000,
            1e-5,
            1.4109728691459376,
            10.4,
            1.06070607169948,
            10.3,
        ),
        (
            1.0,
            5.0,
            1,
            1e-5,
            0.9797052277070928,
            25.0,
            0.794522032537103,
            22.0,
        ),
        (
            0.1,
            0.8,
            100,
            1e-6,
            15.012431869774872,
            2.6,
            13.897411368665754,
            2.5,
        ),
        (
            0.01,
            1.0,
            1000,
            1e-5,
            2.537982880184644,
            7.9,
            2.1013652716430564,
            7.8,
        ),
        (
            0.02,
            2.0,
            500,
            1e-5,
            1.244718612646994,
            19.0,
            1.015257867869242,
            17.0,
        ),
        (
            1.0,
            1.0,
            10,
            1e-5,
            20.175283643313485,
            2.5,
            19.05359753163139,
            2.5,
        ),
        (
            0.256,
            1.1,
            240,
            1e-5,
            30.815534095141928,
            1.9,
            29.355148708675713,
            1.9,
        ),
        (
            0.001,
            0.6,
            10000,
            1e-5,
            4.015494747878412,
            4.4,
            3.3218995971280134,
            4.4,
        ),
        (
            0.05,
            4.0,
            2000,
            1e-6,
            3.1889026288990947,
            10.0,
            2.8166670980399604,
            9.3,
        ),
    ];

    #[test]
    fn spec_golden_table_both_grids_both_conversions() {
        for (q, z, t, d, ce, co, ie, io) in GOLDEN {
            for grid in [&OPACUS_ORDERS[..], &DP_ACCOUNTING_ORDERS[..]] {
                let c = epsilon_for_with(q, z, t, d, grid, Conversion::Classic).unwrap();
                let i = epsilon_for(q, z, t, d, grid).unwrap();
                assert!(
                    (c.value - ce).abs() <= 1e-9 * ce,
                    "classic {q} {z}: {} vs {ce}",
                    c.value
                );
                assert!(
                    (i.value - ie).abs() <= 1e-9 * ie,
                    "improved {q} {z}: {} vs {ie}",
                    i.value
                );
                assert_eq!((c.order, i.order), (co, io), "orders for q={q} z={z}");
                assert!(i.value <= c.value);
            }
        }
    }

    #[test]
    fn eps_decreases_in_delta_and_round_trips() {
        let mut c = [0.0; 156];
        sgm_curve(0.01, 1.1, 1000, &DP_ACCOUNTING_ORDERS, &mut c).unwrap();
        let mut prev = f64::INFINITY;
        for d in [1e-12, 1e-9, 1e-6, 1e-5, 1e-3, 0.01, 0.1] {
            let e = epsilon_from_rdp(&DP_ACCOUNTING_ORDERS, &c, d, Conversion::Improved)
                .unwrap()
                .value;
            assert!(e <= prev);
            prev = e;
            let back = crate::accounting::delta_from_rdp(&DP_ACCOUNTING_ORDERS, &c, e)
                .unwrap()
                .value;
            assert!(back <= d * (1.0 + 1e-9), "delta {d}: round trip {back}");
        }
    }

    #[test]
    fn steps_for_target_is_the_largest_feasible() {
        let t = steps_for_target(2.1013652716430564, 1e-5, 0.01, 1.0, &OPACUS_ORDERS).unwrap();
        let e = |t| {
            epsilon_for(0.01, 1.0, t, 1e-5, &OPACUS_ORDERS)
                .unwrap()
                .value
        };
        assert!(e(t) <= 2.1013652716430564 && e(t + 1) > 2.1013652716430564);
        assert!((999..=1000).contains(&t), "{t}");
        assert_eq!(
            steps_for_target(1.0, 1e-5, 0.0, 1.0, &DP_ACCOUNTING_ORDERS).unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn errors() {
        let o = &DP_ACCOUNTING_ORDERS;
        assert!(noise_for_target(0.0, 1e-5, 0.01, 10, o).is_err());
        assert!(noise_for_target(1.0, 0.0, 0.01, 10, o).is_err());
        assert!(noise_for_target(1.0, 1e-5, 1.5, 10, o).is_err());
        assert_eq!(noise_for_target(1.0, 1e-5, 0.0, 10, o).unwrap(), 0.0);
        // A target below what sigma = 1e6 reaches is reported, not looped on.
        assert!(matches!(
            noise_for_target(1e-9, 1e-5, 1.0, 1_000_000, o),
            Err(Error::InvalidParam { .. })
        ));
    }
}
