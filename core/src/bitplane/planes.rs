//! Bit planes of 8-bit images, the low-bit ("noise") image and LOTA's normalisations.
//!
//! Paper: Wang et al., "LOTA: Bit-Planes Guided AI-Generated Image Detection", ICCV 2025,
//! arXiv 2510.14230; code `bit_patch.py` (scaling) and `extract_noise_image.py` (thresholding).
//! Plane `k`: `x^k = (x >> k) & 1`; low-bit image `z = x & (2^n_low - 1)` (default `n_low = 3`:
//! planes 0, 1, 2, `z = 4 x^2 + 2 x^1 + x^0` in 0..7).
//! Normalisations of `z` (`z_max = 2^n_low - 1`):
//! - `Scaling { exact_255: false }` (code): `n = z * (255 / z_max)` in integers (`36 z` for 3 bits,
//!   max 252 — what the released model was trained with);
//! - `Scaling { exact_255: true }` (paper text): `round_half_away(255 z / z_max)`;
//! - `ScalingMinMax`: `round(255 (z - min) / (max - min))` over the image, all zeros if flat;
//! - `Threshold { tau }`: `255` if `z > tau` else 0 (`tau = 0`: any low bit set, the code's rule; the
//!   `bit_patch.py` thresholding branch is an unfinished placeholder and is not copied).
//!
//! Cost: `O(H W C)` single pass, no allocation.

use super::image::{Image, ImageMut};
use crate::error::{check, Error, Result};

/// Normalisation of the low-bit image to u8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitNorm {
    /// Multiply by `255 / z_max` (integer division unless `exact_255`).
    Scaling {
        /// Use `round(255 z / z_max)` (max 255) instead of the code's `z * (255 / z_max)`.
        exact_255: bool,
    },
    /// Per-image min-max scaling to `[0, 255]`.
    ScalingMinMax,
    /// `255` where `z > tau`, else 0.
    Threshold {
        /// Threshold on `z`.
        tau: u8,
    },
    /// No normalisation: the raw 8-bit image (baseline, `n_low` ignored).
    Raw,
}

impl Default for BitNorm {
    fn default() -> Self {
        BitNorm::Scaling { exact_255: false }
    }
}

fn mask(n_low: u32) -> Result<u8> {
    if !(1..=8).contains(&n_low) {
        return Err(Error::invalid("n_low", n_low as f64, "in 1..=8"));
    }
    Ok(((1u16 << n_low) - 1) as u8)
}

/// Bit plane `k` (0 = least significant) of every sample of `img` into `out` (values 0/1).
pub fn bit_plane(img: &Image<'_>, k: u32, out: &mut [u8]) -> Result<()> {
    if k > 7 {
        return Err(Error::invalid("bit plane", k as f64, "in 0..=7"));
    }
    check::same_len("bit_plane (out)", img.data().len(), out.len())?;
    for (o, &x) in out.iter_mut().zip(img.data()) {
        *o = (x >> k) & 1;
    }
    Ok(())
}

/// Low-bit image `z = x & (2^n_low - 1)` into `out`.
pub fn low_bits(img: &Image<'_>, n_low: u32, out: &mut [u8]) -> Result<()> {
    let m = mask(n_low)?;
    check::same_len("low_bits (out)", img.data().len(), out.len())?;
    for (o, &x) in out.iter_mut().zip(img.data()) {
        *o = x & m;
    }
    Ok(())
}

/// The normalised noisy image of `img` (`n_low` low planes, normalisation `norm`) into `out`
/// (same shape).
pub fn noisy_image(
    img: &Image<'_>,
    n_low: u32,
    norm: BitNorm,
    out: &mut ImageMut<'_>,
) -> Result<()> {
    let m = mask(n_low)?;
    let (h, w, c) = out.shape();
    if (h, w, c) != (img.height(), img.width(), img.channels()) {
        return Err(Error::ShapeMismatch {
            op: "noisy_image (out)",
            expected: (img.height(), img.width() * img.channels()),
            got: (h, w * c),
        });
    }
    let src = img.data();
    let dst = out.data_mut();
    match norm {
        BitNorm::Raw => dst.copy_from_slice(src),
        BitNorm::Scaling { exact_255: false } => {
            let f = 255 / m;
            for (o, &x) in dst.iter_mut().zip(src) {
                *o = (x & m) * f;
            }
        }
        BitNorm::Scaling { exact_255: true } => {
            let mut lut = [0u8; 256];
            for (z, l) in lut.iter_mut().enumerate().take(m as usize + 1) {
                // round half away from zero of 255 z / m, in integers.
                *l = ((2 * 255 * z as u32 + m as u32) / (2 * m as u32)) as u8;
            }
            for (o, &x) in dst.iter_mut().zip(src) {
                *o = lut[(x & m) as usize];
            }
        }
        BitNorm::ScalingMinMax => {
            let (mut lo, mut hi) = (u8::MAX, 0u8);
            for &x in src {
                lo = lo.min(x & m);
                hi = hi.max(x & m);
            }
            if hi == lo {
                dst.fill(0);
            } else {
                let span = (hi - lo) as u32;
                for (o, &x) in dst.iter_mut().zip(src) {
                    let z = ((x & m) - lo) as u32;
                    *o = ((2 * 255 * z + span) / (2 * span)) as u8;
                }
            }
        }
        BitNorm::Threshold { tau } => {
            for (o, &x) in dst.iter_mut().zip(src) {
                *o = if (x & m) > tau { 255 } else { 0 };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(px: &[u8], norm: BitNorm) -> [u8; 6] {
        let img = Image::new(px, 1, 6, 1).unwrap();
        let mut out = [0u8; 6];
        let mut o = ImageMut::new(&mut out, 1, 6, 1).unwrap();
        noisy_image(&img, 3, norm, &mut o).unwrap();
        out
    }

    #[test]
    fn spec_oracles() {
        let px = [173, 200, 7, 8, 255, 1];
        let img = Image::new(&px, 1, 6, 1).unwrap();
        let mut z = [0u8; 6];
        low_bits(&img, 3, &mut z).unwrap();
        assert_eq!(z, [5, 0, 7, 0, 7, 1]);
        assert_eq!(run(&px, BitNorm::default()), [180, 0, 252, 0, 252, 36]);
        assert_eq!(
            run(&px, BitNorm::Threshold { tau: 0 }),
            [255, 0, 255, 0, 255, 255]
        );
        assert_eq!(
            run(&px, BitNorm::Scaling { exact_255: true }),
            [182, 0, 255, 0, 255, 36]
        );
        // 173 = 0b1010_1101: planes 0..2 = 1, 0, 1.
        let mut p = [0u8; 6];
        for (k, want) in [(0, 1), (1, 0), (2, 1), (7, 1), (6, 0)] {
            bit_plane(&img, k, &mut p).unwrap();
            assert_eq!(p[0], want);
        }
    }

    #[test]
    fn reconstruction_and_minmax() {
        let px: [u8; 6] = [0, 9, 100, 201, 254, 77];
        let img = Image::new(&px, 2, 3, 1).unwrap();
        let mut acc = [0u16; 6];
        let mut p = [0u8; 6];
        for k in 0..8 {
            bit_plane(&img, k, &mut p).unwrap();
            for (a, &b) in acc.iter_mut().zip(&p) {
                *a += (b as u16) << k;
            }
        }
        assert!(acc.iter().zip(&px).all(|(a, &b)| *a == b as u16));
        // z = [0, 1, 4, 1, 6, 5]: min 0, max 6 -> 255 z / 6 rounded.
        assert_eq!(run(&px, BitNorm::ScalingMinMax), [0, 43, 170, 43, 255, 213]);
        assert_eq!(
            run(&[8, 16, 24, 32, 40, 48], BitNorm::ScalingMinMax),
            [0; 6]
        );
    }

    #[test]
    fn invariant_to_adding_multiples_of_8() {
        let px = [3u8, 17, 90, 120, 200, 33];
        let shifted: [u8; 6] = core::array::from_fn(|i| px[i] + 48);
        assert_eq!(
            run(&px, BitNorm::default()),
            run(&shifted, BitNorm::default())
        );
    }

    #[test]
    fn bad_input_is_typed() {
        let px = [1u8; 4];
        let img = Image::new(&px, 2, 2, 1).unwrap();
        let mut out = [0u8; 4];
        assert!(matches!(
            low_bits(&img, 0, &mut out),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            low_bits(&img, 9, &mut out),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            bit_plane(&img, 8, &mut out),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            low_bits(&img, 3, &mut out[..3]),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut o = ImageMut::new(&mut out, 1, 4, 1).unwrap();
        assert!(matches!(
            noisy_image(&img, 3, BitNorm::default(), &mut o),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
