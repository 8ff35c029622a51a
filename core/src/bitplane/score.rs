//! LOTA's multi-directional gradient noise score of a patch.
//!
//! Paper: Wang et al., "LOTA: Bit-Planes Guided AI-Generated Image Detection", ICCV 2025,
//! arXiv 2510.14230; code `bit_patch.py::compute`.
//! For a `p x p x C` patch `P` (of the normalised noisy image, channels summed):
//! `S(P) = sum |P[i,j] - P[i,j+1]| + sum |P[i,j] - P[i+1,j]| + sum |P[i,j] - P[i+1,j+1]|
//!        + sum |P[i+1,j] - P[i,j+1]|` over all valid indices and channels, in `u64`.
//! Bound: `S <= (2 p (p-1) + 2 (p-1)^2) C 255`. Cost: `4 p^2 C` absolute differences.

use super::image::Image;
use crate::error::{check, Error, Result};

/// The four directional sums of a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionalScore {
    /// `sum |P[i,j] - P[i,j+1]|`.
    pub horizontal: u64,
    /// `sum |P[i,j] - P[i+1,j]|`.
    pub vertical: u64,
    /// `sum |P[i,j] - P[i+1,j+1]|`.
    pub diagonal: u64,
    /// `sum |P[i+1,j] - P[i,j+1]|`.
    pub anti_diagonal: u64,
}

impl DirectionalScore {
    /// `S(P)`: the sum of the four directions.
    pub fn total(&self) -> u64 {
        self.horizontal + self.vertical + self.diagonal + self.anti_diagonal
    }
}

/// Checks that the `p x p` patch at `(y, x)` lies inside `img`.
pub fn check_patch(img: &Image<'_>, y: usize, x: usize, p: usize) -> Result<()> {
    check::nonzero("patch", p)?;
    if p > img.height().min(img.width()) {
        return Err(Error::invalid(
            "patch",
            p as f64,
            "<= min(H, W) of the image",
        ));
    }
    if y + p > img.height() || x + p > img.width() {
        return Err(Error::invalid(
            "patch position",
            y.max(x) as f64,
            "patch inside the image",
        ));
    }
    Ok(())
}

/// `sum |a_k - b_k|` of two equal-length rows, accumulated in `u32` lanes (a patch row holds at
/// most `p C` terms of at most 255, so `u32` cannot overflow for rows shorter than 16 M samples).
#[inline]
fn row_ad(a: &[u8], b: &[u8]) -> u64 {
    let mut acc = 0u64;
    for (ca, cb) in a.chunks(1 << 20).zip(b.chunks(1 << 20)) {
        acc += ca
            .iter()
            .zip(cb)
            .map(|(&x, &y)| x.abs_diff(y) as u32)
            .sum::<u32>() as u64;
    }
    acc
}

/// Directional sums of the `p x p` patch with top-left `(y, x)` of `img`.
pub fn patch_score(img: &Image<'_>, y: usize, x: usize, p: usize) -> Result<DirectionalScore> {
    check_patch(img, y, x, p)?;
    let c = img.channels();
    let mut s = DirectionalScore::default();
    let w = p * c;
    for i in y..y + p {
        let r0 = &img.row(i)[x * c..x * c + w];
        // Horizontal: element k and k + c within the patch row.
        s.horizontal += row_ad(&r0[..w - c], &r0[c..]);
        if i + 1 < y + p {
            let r1 = &img.row(i + 1)[x * c..x * c + w];
            s.vertical += row_ad(r0, r1);
            s.diagonal += row_ad(&r0[..w - c], &r1[c..]);
            s.anti_diagonal += row_ad(&r1[..w - c], &r0[c..]);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_by_three_oracle() {
        let px = [0u8, 36, 72, 252, 0, 108, 36, 36, 36];
        let img = Image::new(&px, 3, 3, 1).unwrap();
        let s = patch_score(&img, 0, 0, 3).unwrap();
        assert_eq!(
            (s.horizontal, s.vertical, s.diagonal, s.anti_diagonal),
            (432, 648, 324, 396)
        );
        assert_eq!(s.total(), 1800);
    }

    #[test]
    fn checkerboards_and_bound() {
        let p = 32;
        let one: [u8; 32 * 32] =
            core::array::from_fn(|k| if (k / p + k % p) % 2 == 1 { 252 } else { 0 });
        let img = Image::new(&one, p, p, 1).unwrap();
        assert_eq!(patch_score(&img, 0, 0, p).unwrap().total(), 499_968);
        let three: [u8; 32 * 32 * 3] = core::array::from_fn(|k| one[k / 3]);
        let img3 = Image::new(&three, p, p, 3).unwrap();
        assert_eq!(patch_score(&img3, 0, 0, p).unwrap().total(), 1_499_904);
        let flat = [77u8; 32 * 32];
        let imgf = Image::new(&flat, p, p, 1).unwrap();
        assert_eq!(patch_score(&imgf, 0, 0, p).unwrap().total(), 0);
        // Upper bound with alternating 0/252 columns-and-rows pattern cannot exceed the bound.
        let bound = (2 * p * (p - 1) + 2 * (p - 1) * (p - 1)) as u64 * 3 * 252;
        assert_eq!(bound, 2_952_936);
        assert!(patch_score(&img3, 0, 0, p).unwrap().total() <= bound);
    }

    #[test]
    fn invariant_to_transpose_and_rotation() {
        let n = 7;
        let px: [u8; 49] = core::array::from_fn(|k| ((k * 97 + 13) % 8) as u8 * 36);
        let tr: [u8; 49] = core::array::from_fn(|k| px[(k % n) * n + k / n]);
        let rot: [u8; 49] = core::array::from_fn(|k| px[48 - k]);
        let s = |d: &[u8]| {
            patch_score(&Image::new(d, n, n, 1).unwrap(), 0, 0, n)
                .unwrap()
                .total()
        };
        assert_eq!(s(&px), s(&tr));
        assert_eq!(s(&px), s(&rot));
    }

    #[test]
    fn bad_patches_are_typed() {
        let px = [0u8; 16];
        let img = Image::new(&px, 4, 4, 1).unwrap();
        assert!(matches!(
            patch_score(&img, 0, 0, 0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            patch_score(&img, 0, 0, 5),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            patch_score(&img, 2, 0, 3),
            Err(Error::InvalidParam { .. })
        ));
    }
}
