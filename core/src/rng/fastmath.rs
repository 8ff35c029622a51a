//! Branch-free `ln` and `sin/cos` (in `f32` and `f64`) for the bulk normal transform, written so
//! that the compiler can vectorise loops over them (no table look-ups, no branches, selects only).
//!
//! `f32`: Cephes' `logf` (Moshier 1984-2000) on `[sqrt(1/2), sqrt(2))` and `sinf`/`cosf` on
//! `[-pi/4, pi/4]`; about 1-2 ulp over the inputs the transform uses (checked against `f64`).
//! `f64`: fdlibm's `__ieee754_log` (`s = f / (2 + f)`, polynomial `Lg1..Lg7`) and
//! `__kernel_sin`/`__kernel_cos` (`S1..S6`, `C1..C6`) on `[-pi/4, pi/4]`, under 1 ulp
//! (checked against `libm`). No fused multiply-add is used, so every target computes the same
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
    // Nearest quarter turn, 0..=4: floor(4u + 1/2), exact for 24-bit u. The clamp keeps the
    // conversion in range for any input (NaN included), so the unchecked conversion (a plain
    // truncating `cvttps2dq` that vectorises, unlike `as i32`'s saturating scalar sequence) is sound.
    #[allow(clippy::manual_clamp)] // `clamp` keeps NaN; max/min map it into range
    let t = (u * 4.0 + 0.5).max(0.0).min(4.5);
    // SAFETY: `t` is finite and in [0, 4.5], so its truncation fits an i32.
    let q: i32 = unsafe { t.to_int_unchecked() };
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

// fdlibm's published decimal constants (they round to the intended doubles).
#[allow(clippy::excessive_precision)]
/// Natural logarithm of a positive normal `f64` (fdlibm's reduction and polynomial, branch-free).
/// Zero, subnormal, negative and non-finite inputs give a finite but meaningless value (the
/// Box-Muller transform only passes uniforms in `[2^-53, 1]`).
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LG: [f64; 7] = [
        6.666_666_666_666_735_130e-1,
        3.999_999_999_940_941_908e-1,
        2.857_142_874_366_239_149e-1,
        2.222_219_843_214_978_396e-1,
        1.818_357_216_161_805_012e-1,
        1.531_383_769_920_937_332e-1,
        1.479_819_860_511_658_591e-1,
    ];
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    // The biased exponent as an exact f64 through the 2^52 trick (AVX2 has no i64 -> f64).
    let k = f64::from_bits(0x4330_0000_0000_0000 | ((bits >> 52) & 0x7ff)) - (TWO52 + 1023.0);
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let big = m > core::f64::consts::SQRT_2;
    let (m, k) = if big { (m * 0.5, k + 1.0) } else { (m, k) };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)
}

#[allow(clippy::excessive_precision)]
/// `(sin(2 pi u), cos(2 pi u))` for `u` in `[0, 1]` (`f64`; the reduction `u - j/4` is exact).
#[inline(always)]
pub fn sincos_turns_f64(u: f64) -> (f64, f64) {
    const S: [f64; 6] = [
        -1.666_666_666_666_663_243_48e-1,
        8.333_333_333_322_489_461_24e-3,
        -1.984_126_982_985_794_931_34e-4,
        2.755_731_370_707_006_767_89e-6,
        -2.505_076_025_340_686_341_95e-8,
        1.589_690_995_211_550_102_21e-10,
    ];
    const C: [f64; 6] = [
        4.166_666_666_666_660_190_37e-2,
        -1.388_888_888_887_410_957_49e-3,
        2.480_158_728_947_672_941_78e-5,
        -2.755_731_435_139_066_330_35e-7,
        2.087_572_321_298_174_827_90e-9,
        -1.135_964_755_778_819_482_65e-11,
    ];
    // As in `sincos_turns`: clamped so the unchecked (vectorisable) conversion is sound.
    #[allow(clippy::manual_clamp)] // `clamp` keeps NaN; max/min map it into range
    let t = (u * 4.0 + 0.5).max(0.0).min(4.5);
    // SAFETY: `t` is finite and in [0, 4.5], so its truncation fits an i32.
    let q: i32 = unsafe { t.to_int_unchecked() };
    let x = (u - q as f64 * 0.25) * core::f64::consts::TAU; // in [-pi/4, pi/4]
    let z = x * x;
    let rs = S[1] + z * (S[2] + z * (S[3] + z * (S[4] + z * S[5])));
    let s = x + z * x * (S[0] + z * rs);
    let rc = z * (C[0] + z * (C[1] + z * (C[2] + z * (C[3] + z * (C[4] + z * C[5])))));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let c = w + (((1.0 - w) - hz) + z * rc);
    let odd = q & 1 != 0;
    let (sin, cos) = if odd { (c, s) } else { (s, c) };
    let sin = if q & 2 != 0 { -sin } else { sin };
    let cos = if (q + 1) & 2 != 0 { -cos } else { cos };
    (sin, cos)
}

/// Correctly rounded `f64` square root (hardware through `std`, `libm` otherwise).
#[inline(always)]
pub fn sqrt_f64(x: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::sqrt(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps_f64(a: f64, exact: f64) -> f64 {
        (a - exact).abs() / (f64::EPSILON * exact.abs().max(f64::MIN_POSITIVE))
    }

    #[test]
    fn ln_f64_is_within_one_ulp() {
        // libm's log is correctly rounded to within 1 ulp itself; the sum bounds our error.
        let mut worst: f64 = 0.0;
        let mut u = 1.0f64;
        for k in 0..200_000u64 {
            // Uniforms on the 53-bit grid, spread over (0, 1], plus tiny values.
            let v = ((k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) + 1) as f64 * 2f64.powi(-53);
            for x in [v, u] {
                let exact = libm::log(x);
                if exact != 0.0 {
                    worst = worst.max(ulps_f64(ln_f64(x), exact));
                }
            }
            u *= 0.999_7;
        }
        assert!(worst <= 1.0, "worst ln_f64 error {worst} ulp");
        assert_eq!(ln_f64(1.0), 0.0);
        assert_eq!(ln_f64(2f64.powi(-53)), -53.0 * core::f64::consts::LN_2);
    }

    #[test]
    fn sincos_f64_is_accurate_in_absolute_terms() {
        let mut worst: f64 = 0.0;
        for k in 0..200_000u64 {
            let u = ((k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) + 1) as f64 * 2f64.powi(-53);
            // Reference on the exactly reduced turn r = u - j/4 (|r| <= 1/8), so that libm's
            // argument 2 pi r carries at most ~6e-17 of rounding (2 pi u near 2 pi: ~4e-16).
            let j = (u * 4.0).round();
            let theta = core::f64::consts::TAU * (u - j * 0.25);
            let (rs, rc) = (libm::sin(theta), libm::cos(theta));
            let (want_s, want_c) = match j as i32 & 3 {
                0 => (rs, rc),
                1 => (rc, -rs),
                2 => (-rs, -rc),
                _ => (-rc, rs),
            };
            let (s, c) = sincos_turns_f64(u);
            worst = worst.max((s - want_s).abs()).max((c - want_c).abs());
        }
        assert!(
            worst <= 2.0f64.powi(-52),
            "worst sincos_f64 error {worst:e}"
        );
        for (u, s, c) in [
            (0.0, 0.0, 1.0),
            (0.25, 1.0, 0.0),
            (0.5, 0.0, -1.0),
            (1.0, 0.0, 1.0),
        ] {
            let (gs, gc) = sincos_turns_f64(u);
            assert!(
                (gs - s).abs() < 1e-15 && (gc - c).abs() < 1e-15,
                "u {u}: {gs} {gc}"
            );
        }
    }

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
