//! Branch-free `f32` `ln` and `sin/cos` for the bulk normal transform, written so that the compiler
//! can vectorise loops over them (no table look-ups, no branches, selects only).
//!
//! Polynomials are Cephes' `logf` (Moshier 1984-2000) on `[sqrt(1/2), sqrt(2))` and `sinf`/`cosf`
//! on `[-pi/4, pi/4]`; maximum errors about 1-2 ulp over the inputs the transform uses (checked
//! against `f64` in the tests). No fused multiply-add is used, so every target computes the same
//! bits: scalar code, vectorised code and the bare-metal build agree exactly.

/// Correctly rounded square root (IEEE 754 requires it, so every implementation gives the same
/// bits): the hardware instruction through `std` when available, `libm` otherwise.
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::sqrtf(x)
    }
}

const SQRT_HALF: f32 = core::f32::consts::FRAC_1_SQRT_2;

/// Natural logarithm of a positive normal `f32` (the bulk transform only passes `(0, 1]`).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000); // in [0.5, 1)
    let small = m < SQRT_HALF;
    let e = (if small { e - 1 } else { e }) as f32;
    let x = if small { m + m - 1.0 } else { m - 1.0 };
    let z = x * x;
    let mut p = 7.037_683_6e-2_f32;
    p = p * x - 1.151_461_1e-1;
    p = p * x + 1.167_699_9e-1;
    p = p * x - 1.242_014_1e-1;
    p = p * x + 1.424_932_3e-1;
    p = p * x - 1.666_805_8e-1;
    p = p * x + 2.000_071_4e-1;
    p = p * x - 2.499_999_4e-1;
    p = p * x + 3.333_333e-1;
    let mut y = x * z * p;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    let r = x + y;
    r + 0.693_359_4 * e
}

/// `(sin(2 pi u), cos(2 pi u))` for `u` in `[0, 1]` with at most 24 significant bits (as the
/// Philox uniforms have), so the quadrant reduction `u - j/4` is exact.
#[inline(always)]
pub fn sincos_turns(u: f32) -> (f32, f32) {
    let q = (u * 4.0 + 0.5) as i32; // nearest quarter turn, 0..=4
    let r = (u - q as f32 * 0.25) * core::f32::consts::TAU; // in [-pi/4, pi/4]
    let z = r * r;
    let s = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1) * z * r + r;
    let c = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // Rotate by q quarter turns with selects only (vectorisable): odd quadrants swap sin and
    // cos; sin is negative in quadrants 2 and 3, cos in quadrants 1 and 2.
    let odd = q & 1 != 0;
    let (sin, cos) = if odd { (c, s) } else { (s, c) };
    let sin = if q & 2 != 0 { -sin } else { sin };
    let cos = if (q + 1) & 2 != 0 { -cos } else { cos };
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, exact: f64) -> f64 {
        let ulp = f32::EPSILON as f64 * exact.abs().max(f32::MIN_POSITIVE as f64);
        (a as f64 - exact).abs() / ulp
    }

    #[test]
    fn ln_is_within_two_ulp_on_the_uniform_grid() {
        let mut worst: f64 = 0.0;
        for k in (1u32..=1 << 24).step_by(97) {
            let u = k as f32 * (1.0 / 16_777_216.0);
            let exact = libm::log(u as f64);
            if exact != 0.0 {
                worst = worst.max(ulps(ln(u), exact));
            }
        }
        assert!(worst <= 2.0, "worst ln error {worst} ulp");
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn sincos_is_accurate_in_absolute_terms() {
        // Box-Muller multiplies by r <= 5.8, so absolute error matters: bound it by 2^-23.
        let mut worst: f64 = 0.0;
        for k in (0u32..=1 << 24).step_by(89) {
            let u = k as f32 * (1.0 / 16_777_216.0);
            let theta = core::f64::consts::TAU * u as f64;
            let (s, c) = sincos_turns(u);
            worst = worst
                .max((s as f64 - libm::sin(theta)).abs())
                .max((c as f64 - libm::cos(theta)).abs());
        }
        assert!(worst < 2.0f64.powi(-23), "worst sincos error {worst:e}");
    }
}
