//! RDP curve -> (epsilon, delta), minimised over the order grid.
//!
//! - Classic (Mironov, "Rényi Differential Privacy", 2017, arXiv 1702.07476, Prop. 3):
//!   `eps = min_k [ R_k + ln(1/delta) / (alpha_k - 1) ]`.
//! - Improved (Balle, Barthe, Gaboardi, Hsu, Sato, "Hypothesis Testing Interpretations and Rényi
//!   Differential Privacy", 2020, arXiv 1905.09982, Thm 21; Canonne, Kamath, Steinke 2020, arXiv
//!   2004.00010, Prop. 12; what Opacus `get_privacy_spent` and dp-accounting `compute_epsilon` use):
//!   `eps = min_k [ R_k + ln(1 - 1/alpha_k) - ln(delta alpha_k) / (alpha_k - 1) ]`, evaluated only
//!   for `alpha_k > 1.01`; an order with `delta^2 + expm1(-R_k) > 0` gives `eps = 0` (the
//!   `delta <= sqrt(1 - e^-KL)` bound), final `eps = max(0, min)` (dp-accounting rules).
//! - Inverse, improved (dp-accounting `compute_delta`):
//!   `ln delta = min_k min( ln(1 - e^-R_k)/2, (alpha_k - 1)(R_k - eps + ln(1 - 1/alpha_k)) - ln alpha_k )`
//!   (second term only for `alpha_k > 1.01`), `delta <= 1`.
//!
//! `delta == 0` gives `eps = +inf` unless the whole curve is 0. The optimal order is returned too,
//! so a caller can warn when it is the first or last order of the grid (grid too narrow).
//! Cost: O(K) for K orders. No allocation.

use crate::error::{Error, Result};

/// Which RDP -> (eps, delta) conversion to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Balle et al. 2020 / Canonne et al. 2020 (default; Opacus and dp-accounting).
    Improved,
    /// Mironov 2017 Prop. 3.
    Classic,
}

/// An `(epsilon, optimal order)` or `(delta, optimal order)` pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guarantee {
    /// Epsilon (or delta for [`delta_from_rdp`]).
    pub value: f64,
    /// The order at which the minimum is attained.
    pub order: f64,
}

fn check_curve(orders: &[f64], rdp: &[f64]) -> Result<()> {
    if orders.is_empty() {
        return Err(Error::invalid("orders", 0.0, "a non-empty grid"));
    }
    if orders.len() != rdp.len() {
        return Err(Error::len_mismatch("rdp curve", orders.len(), rdp.len()));
    }
    for &a in orders {
        if a.is_nan() || a <= 1.0 {
            return Err(Error::invalid("alpha (RDP order)", a, "> 1"));
        }
    }
    for (i, &r) in rdp.iter().enumerate() {
        if r.is_nan() {
            return Err(Error::NonFinite {
                what: "rdp curve",
                index: i,
            });
        }
        if r < 0.0 {
            return Err(Error::invalid("rdp value", r, ">= 0"));
        }
    }
    Ok(())
}

/// Epsilon at `delta` for the RDP curve `rdp` over `orders`.
pub fn epsilon_from_rdp(
    orders: &[f64],
    rdp: &[f64],
    delta: f64,
    conversion: Conversion,
) -> Result<Guarantee> {
    check_curve(orders, rdp)?;
    if !(0.0..1.0).contains(&delta) {
        return Err(Error::invalid("delta", delta, "in (0, 1)"));
    }
    let first = orders.first().copied().unwrap_or(f64::NAN);
    if delta == 0.0 {
        let value = if rdp.iter().all(|&r| r == 0.0) {
            0.0
        } else {
            f64::INFINITY
        };
        return Ok(Guarantee {
            value,
            order: first,
        });
    }
    let ln_delta = libm::log(delta);
    let mut best = Guarantee {
        value: f64::INFINITY,
        order: first,
    };
    for (&a, &r) in orders.iter().zip(rdp) {
        let eps = match conversion {
            Conversion::Classic => r - ln_delta / (a - 1.0),
            Conversion::Improved => {
                if delta * delta + libm::expm1(-r) > 0.0 {
                    0.0
                } else if a > 1.01 {
                    r + libm::log1p(-1.0 / a) - (ln_delta + libm::log(a)) / (a - 1.0)
                } else {
                    f64::INFINITY
                }
            }
        };
        if eps < best.value {
            best = Guarantee {
                value: eps,
                order: a,
            };
        }
    }
    best.value = best.value.max(0.0);
    Ok(best)
}

/// Delta at `epsilon` for the RDP curve (improved conversion).
pub fn delta_from_rdp(orders: &[f64], rdp: &[f64], epsilon: f64) -> Result<Guarantee> {
    check_curve(orders, rdp)?;
    if epsilon.is_nan() || epsilon < 0.0 {
        return Err(Error::invalid("epsilon", epsilon, ">= 0"));
    }
    let mut best = Guarantee {
        value: f64::INFINITY,
        order: orders.first().copied().unwrap_or(f64::NAN),
    };
    for (&a, &r) in orders.iter().zip(rdp) {
        let mut ld = if r == 0.0 {
            f64::NEG_INFINITY
        } else {
            0.5 * libm::log1p(-libm::exp(-r))
        };
        if a > 1.01 {
            let bound = (a - 1.0) * (r - epsilon + libm::log1p(-1.0 / a)) - libm::log(a);
            if bound < ld {
                ld = bound;
            }
        }
        if ld < best.value {
            best = Guarantee {
                value: ld,
                order: a,
            };
        }
    }
    best.value = libm::exp(best.value).min(1.0);
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_hand_case() {
        // q = 1, z = 5, one step: R(alpha) = alpha / 50 on the Opacus grid (spec hand case 1).
        let orders = crate::accounting::orders::OPACUS_ORDERS;
        let rdp: [f64; 151] = core::array::from_fn(|k| orders[k] / 50.0);
        let c = epsilon_from_rdp(&orders, &rdp, 1e-5, Conversion::Classic).unwrap();
        assert!((c.value - 0.979_705_227_707_092_8).abs() < 1e-12);
        assert_eq!(c.order, 25.0);
        let i = epsilon_from_rdp(&orders, &rdp, 1e-5, Conversion::Improved).unwrap();
        assert!((i.value - 0.794_522_032_537_103).abs() < 1e-12);
        assert_eq!(i.order, 22.0);
        // Round trip.
        let d = delta_from_rdp(&orders, &rdp, i.value).unwrap();
        assert!(
            d.value <= 1e-5 * (1.0 + 1e-9) && d.value > 0.99e-5,
            "{}",
            d.value
        );
    }

    #[test]
    fn edge_cases_and_errors() {
        let orders = [2.0, 4.0];
        assert_eq!(
            epsilon_from_rdp(&orders, &[0.0, 0.0], 0.0, Conversion::Improved)
                .unwrap()
                .value,
            0.0
        );
        assert_eq!(
            epsilon_from_rdp(&orders, &[0.1, 0.2], 0.0, Conversion::Improved)
                .unwrap()
                .value,
            f64::INFINITY
        );
        // KL bound: a tiny curve with a big delta gives eps 0.
        assert_eq!(
            epsilon_from_rdp(&orders, &[1e-6, 2e-6], 0.01, Conversion::Improved)
                .unwrap()
                .value,
            0.0
        );
        for d in [1.0, 1.5, -0.1, f64::NAN] {
            assert!(matches!(
                epsilon_from_rdp(&orders, &[0.1, 0.2], d, Conversion::Improved),
                Err(Error::InvalidParam { name: "delta", .. })
            ));
        }
        assert!(matches!(
            epsilon_from_rdp(&orders, &[0.1], 1e-5, Conversion::Improved),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            epsilon_from_rdp(&[1.0, 2.0], &[0.1, 0.2], 1e-5, Conversion::Improved),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            epsilon_from_rdp(&orders, &[f64::NAN, 0.2], 1e-5, Conversion::Improved),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            delta_from_rdp(&orders, &[0.1, 0.2], -1.0),
            Err(Error::InvalidParam {
                name: "epsilon",
                ..
            })
        ));
        // Infinite curve: eps inf, delta 1.
        let inf = [f64::INFINITY, f64::INFINITY];
        assert_eq!(
            epsilon_from_rdp(&orders, &inf, 1e-5, Conversion::Improved)
                .unwrap()
                .value,
            f64::INFINITY
        );
        assert_eq!(delta_from_rdp(&orders, &inf, 1.0).unwrap().value, 1.0);
    }
}
