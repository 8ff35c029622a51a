//! Log-space helpers for the RDP accountant: `log_add`, `log_sub`, `log_erfc`.
//!
//! Used by the subsampled-Gaussian RDP series (Mironov, Talwar, Zhang 2019, "Rényi Differential
//! Privacy of the Sampled Gaussian Mechanism", arXiv 1908.10530), whose terms span hundreds of
//! orders of magnitude.
//!
//! - `log_add(a, b) = max(a, b) + log1p(exp(min - max))` (either may be `-inf`).
//! - `log_sub(a, b) = b + ln(expm1(a - b))` for `a >= b`; `-inf` when `a == b`.
//! - `log_erfc(x) = ln(erfc(x))` while `erfc(x)` is a normal number (libm's `erfc` keeps relative
//!   accuracy in the tail), else the asymptotic series
//!   `-ln(pi)/2 - ln x - x^2 - x^-2/2 + 5/8 x^-4 - 37/24 x^-6 + 353/64 x^-8` (as dp-accounting).
//!
//! Cost: O(1) libm calls each.

/// `ln(e^a + e^b)` without overflow; `-inf` is the log of zero.
#[inline]
pub fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + libm::log1p(libm::exp(lo - hi))
}

/// `ln(e^a - e^b)` for `a >= b`; `None` when `a < b` (the difference would be negative).
#[inline]
pub fn log_sub(a: f64, b: f64) -> Option<f64> {
    if a < b {
        return None;
    }
    if b == f64::NEG_INFINITY {
        return Some(a);
    }
    if a == b {
        return Some(f64::NEG_INFINITY);
    }
    let d = a - b;
    // For a large gap expm1 overflows; then ln(expm1(d)) = d to double precision.
    if d > 700.0 {
        return Some(a);
    }
    Some(libm::log(libm::expm1(d)) + b)
}

/// `ln(erfc(x))`, accurate also where `erfc(x)` underflows (x > ~26).
#[inline]
pub fn log_erfc(x: f64) -> f64 {
    let r = libm::erfc(x);
    if r > f64::MIN_POSITIVE {
        return libm::log(r);
    }
    let pi = core::f64::consts::PI;
    let x2 = x * x;
    let x4 = x2 * x2;
    let x6 = x4 * x2;
    let x8 = x4 * x4;
    -0.5 * libm::log(pi) - libm::log(x) - x2 - 0.5 / x2 + 0.625 / x4 - 37.0 / 24.0 / x6
        + 353.0 / 64.0 / x8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_add_and_sub_match_direct_values() {
        let (a, b) = (libm::log(3.0), libm::log(2.0));
        assert!((log_add(a, b) - libm::log(5.0)).abs() < 1e-15);
        assert!((log_sub(a, b).unwrap() - 0.0).abs() < 1e-15);
        assert_eq!(log_add(f64::NEG_INFINITY, 1.5), 1.5);
        assert_eq!(log_sub(1.5, f64::NEG_INFINITY), Some(1.5));
        assert_eq!(log_sub(1.5, 1.5), Some(f64::NEG_INFINITY));
        assert_eq!(log_sub(1.0, 2.0), None);
        assert_eq!(log_add(1000.0, 0.0), 1000.0);
        assert_eq!(log_sub(1000.0, 0.0), Some(1000.0));
    }

    #[test]
    fn log_erfc_is_continuous_across_the_asymptotic_switch() {
        // scipy: ln erfc(5) = ln(special.erfc(5)); ln erfc(30) = ln 2 + special.log_ndtr(-30 sqrt 2).
        assert!((log_erfc(5.0) - (-27.200_889_545_537_436)).abs() < 1e-12);
        assert!((log_erfc(30.0) - (-903.974_117_110_644_2)).abs() < 1e-9 * 904.0);
        assert!((log_erfc(-40.0) - core::f64::consts::LN_2).abs() < 1e-15);
        // The series and libm agree where both are valid.
        let x: f64 = 20.0;
        let direct = libm::log(libm::erfc(x));
        let x2 = x * x;
        let series = -0.5 * libm::log(core::f64::consts::PI) - libm::log(x) - x2 - 0.5 / x2
            + 0.625 / (x2 * x2)
            - 37.0 / 24.0 / (x2 * x2 * x2)
            + 353.0 / 64.0 / (x2 * x2 * x2 * x2);
        assert!((direct - series).abs() < 1e-12 * direct.abs());
    }
}
