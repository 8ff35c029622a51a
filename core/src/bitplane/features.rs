//! Hand-crafted noise features of a selected patch (the core's light LOTA head; the paper's
//! ResNet-50 head belongs to the host/CUDA side).
//!
//! Paper: Wang et al., "LOTA: Bit-Planes Guided AI-Generated Image Detection", ICCV 2025,
//! arXiv 2510.14230 (patch from MGPS); the feature vector is spec 20's reconstruction:
//! `f = [h1, v1, d1, a1, h2, v2, h1/(h2+eps), v1/(v2+eps), eq_h, eq_v]`, where `h1, v1, d1, a1` are
//! mean absolute differences at lag 1 (horizontal, vertical, diagonal, anti-diagonal) divided by 255,
//! `h2, v2` the lag-2 horizontal/vertical ones, `eps = 1e-6`, and `eq_h, eq_v` the fractions of
//! horizontally/vertically adjacent pairs with equal values; channels pooled.
//! Cost: `O(p^2 C)`, no allocation.

use super::image::Image;
use super::score::check_patch;
use crate::error::Result;

/// Number of features.
pub const N_FEATURES: usize = 10;

/// Names of the features, in order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "h1", "v1", "d1", "a1", "h2", "v2", "h1/h2", "v1/v2", "eq_h", "eq_v",
];

/// The 10 features of the `p x p` patch at `(y, x)` of the noisy image `img`.
pub fn patch_features(img: &Image<'_>, y: usize, x: usize, p: usize) -> Result<[f64; N_FEATURES]> {
    check_patch(img, y, x, p)?;
    let c = img.channels();
    // sums and counts: h1 v1 d1 a1 h2 v2 eq_h eq_v
    let mut s = [0u64; 8];
    let mut n = [0u64; 8];
    for i in y..y + p {
        let r0 = &img.row(i)[x * c..(x + p) * c];
        for (&a, &b) in r0.iter().zip(&r0[c..]) {
            s[0] += a.abs_diff(b) as u64;
            s[6] += u64::from(a == b);
        }
        n[0] += ((p - 1) * c) as u64;
        n[6] += ((p - 1) * c) as u64;
        if p > 2 {
            s[4] += r0
                .iter()
                .zip(&r0[2 * c..])
                .map(|(&a, &b)| a.abs_diff(b) as u64)
                .sum::<u64>();
            n[4] += ((p - 2) * c) as u64;
        }
        if i + 1 < y + p {
            let r1 = &img.row(i + 1)[x * c..(x + p) * c];
            for (&a, &b) in r0.iter().zip(r1) {
                s[1] += a.abs_diff(b) as u64;
                s[7] += u64::from(a == b);
            }
            n[1] += (p * c) as u64;
            n[7] += (p * c) as u64;
            s[2] += r0
                .iter()
                .zip(&r1[c..])
                .map(|(&a, &b)| a.abs_diff(b) as u64)
                .sum::<u64>();
            s[3] += r1
                .iter()
                .zip(&r0[c..])
                .map(|(&a, &b)| a.abs_diff(b) as u64)
                .sum::<u64>();
            n[2] += ((p - 1) * c) as u64;
            n[3] += ((p - 1) * c) as u64;
        }
        if i + 2 < y + p {
            let r2 = &img.row(i + 2)[x * c..(x + p) * c];
            s[5] += r0
                .iter()
                .zip(r2)
                .map(|(&a, &b)| a.abs_diff(b) as u64)
                .sum::<u64>();
            n[5] += (p * c) as u64;
        }
    }
    let mean = |k: usize| {
        if n[k] == 0 {
            0.0
        } else {
            s[k] as f64 / n[k] as f64
        }
    };
    let (h1, v1, d1, a1, h2, v2) = (
        mean(0) / 255.0,
        mean(1) / 255.0,
        mean(2) / 255.0,
        mean(3) / 255.0,
        mean(4) / 255.0,
        mean(5) / 255.0,
    );
    let eps = 1e-6;
    Ok([
        h1,
        v1,
        d1,
        a1,
        h2,
        v2,
        h1 / (h2 + eps),
        v1 / (v2 + eps),
        mean(6),
        mean(7),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_by_hand() {
        // 3 x 3 patch of the spec's score oracle.
        let px = [0u8, 36, 72, 252, 0, 108, 36, 36, 36];
        let img = Image::new(&px, 3, 3, 1).unwrap();
        let f = patch_features(&img, 0, 0, 3).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(f[0], 432.0 / 6.0 / 255.0));
        assert!(close(f[1], 648.0 / 6.0 / 255.0));
        assert!(close(f[2], 324.0 / 4.0 / 255.0));
        assert!(close(f[3], 396.0 / 4.0 / 255.0));
        // lag 2: |0-72| + |252-108| + |36-36| = 216 over 3 pairs; vertical |0-36|+|36-36|+|72-36| = 72.
        assert!(close(f[4], 72.0 / 255.0));
        assert!(close(f[5], 24.0 / 255.0));
        assert!(close(f[6], f[0] / (f[4] + 1e-6)));
        // equal pairs: horizontal (36,36) twice in the last row -> 2/6; vertical none -> 0/6.
        assert!(close(f[8], 2.0 / 6.0));
        assert!(close(f[9], 0.0));
    }

    #[test]
    fn statistical_uniform_noise() {
        // iid uniform u8 noise, 36-scaled low bits: E|z_a - z_b| = 21/8, so mean |diff| = 94.5.
        let mut rng = crate::rng::default_rng(12);
        let mut px = [0u8; 200 * 200];
        for v in px.iter_mut() {
            *v = crate::rng::seq::below(&mut rng, 256).unwrap() as u8;
        }
        let mut out = [0u8; 200 * 200];
        let img = Image::new(&px, 200, 200, 1).unwrap();
        let mut o = crate::bitplane::image::ImageMut::new(&mut out, 200, 200, 1).unwrap();
        crate::bitplane::planes::noisy_image(&img, 3, crate::bitplane::BitNorm::default(), &mut o)
            .unwrap();
        let n = Image::new(&out, 200, 200, 1).unwrap();
        let f = patch_features(&n, 0, 0, 200).unwrap();
        // ~8e4 pairs per direction; +-1 as in the spec (about 6 SE).
        for (k, v) in f.iter().take(4).enumerate() {
            assert!((v * 255.0 - 94.5).abs() < 1.0, "{k}: {}", v * 255.0);
        }
        assert!((f[8] - 0.125).abs() < 0.01);
    }
}
