//! Maximum-gradient patch selection (MGPS): the patch of the noisy image with the largest
//! multi-directional gradient score.
//!
//! Paper: Wang et al., "LOTA: Bit-Planes Guided AI-Generated Image Detection", ICCV 2025,
//! arXiv 2510.14230; code `bit_patch.py::bit_patch`.
//! Strategies: `RandomCrops { n }` (code-compatible: `n` crops with uniform top-left corners in
//! `[0, H - p] x [0, W - p]`, with replacement; the code uses `n = (img_height / p)^2`, see
//! [`code_candidates`]) and `Grid { stride }` (deterministic scan of every top-left on a stride
//! grid, row-major). Modes: `Max` (LOTA's test-time rule; the first candidate wins ties, like the
//! code's stable sort), `Min`, `Random` (the first candidate, i.e. one random crop).
//! Unlike the code, an image smaller than the patch is an error, not silently resized.
//! Cost: `4 p^2 C` absolute differences per candidate ([`super::score::patch_score`]); no allocation.

use rand_core::Rng;

use super::image::Image;
use super::score::patch_score;
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// How candidate patches are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `n` random crops (needs the RNG).
    RandomCrops {
        /// Number of candidates.
        n: usize,
    },
    /// Every top-left corner on a grid of step `stride` (deterministic).
    Grid {
        /// Grid step in pixels.
        stride: usize,
    },
}

/// Which candidate is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchMode {
    /// Highest score (LOTA).
    #[default]
    Max,
    /// Lowest score.
    Min,
    /// The first candidate (a random crop under `RandomCrops`).
    Random,
}

/// The selected patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Top row.
    pub y: usize,
    /// Left column.
    pub x: usize,
    /// Its score `S(P)`.
    pub score: u64,
}

/// The code's number of random crops, `(img_height / p)^2` (at least 1).
pub fn code_candidates(img_height: usize, p: usize) -> usize {
    if p == 0 {
        return 1;
    }
    ((img_height / p) * (img_height / p)).max(1)
}

/// Selects a `p x p` patch of the noisy image `noisy`.
pub fn mgps<R: Rng + ?Sized>(
    noisy: &Image<'_>,
    p: usize,
    strategy: Strategy,
    mode: PatchMode,
    rng: &mut R,
) -> Result<Selection> {
    check::nonzero("patch", p)?;
    let (h, w) = (noisy.height(), noisy.width());
    if p > h.min(w) {
        return Err(Error::invalid(
            "patch",
            p as f64,
            "<= min(H, W) of the image",
        ));
    }
    let mut best: Option<Selection> = None;
    let mut consider = |y: usize, x: usize| -> Result<bool> {
        let score = patch_score(noisy, y, x, p)?.total();
        let cand = Selection { y, x, score };
        let better = match (best, mode) {
            (None, _) => true,
            (Some(b), PatchMode::Max) => score > b.score,
            (Some(b), PatchMode::Min) => score < b.score,
            (Some(_), PatchMode::Random) => false,
        };
        if better {
            best = Some(cand);
        }
        // Random mode needs only the first candidate.
        Ok(mode != PatchMode::Random)
    };
    match strategy {
        Strategy::RandomCrops { n } => {
            check::nonzero("n_candidates", n)?;
            for _ in 0..n {
                let y = seq::below(rng, h - p + 1)?;
                let x = seq::below(rng, w - p + 1)?;
                if !consider(y, x)? {
                    break;
                }
            }
        }
        Strategy::Grid { stride } => {
            check::nonzero("stride", stride)?;
            'outer: for y in (0..=h - p).step_by(stride) {
                for x in (0..=w - p).step_by(stride) {
                    if !consider(y, x)? {
                        break 'outer;
                    }
                }
            }
        }
    }
    best.ok_or(Error::invalid("n_candidates", 0.0, ">= 1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitplane::image::ImageMut;
    use crate::bitplane::planes::{noisy_image, BitNorm};

    #[test]
    fn tile_selection_oracle() {
        let px: [u8; 64] = core::array::from_fn(|k| ((37 * k) % 256) as u8);
        let img = Image::new(&px, 8, 8, 1).unwrap();
        let mut out = [0u8; 64];
        let mut o = ImageMut::new(&mut out, 8, 8, 1).unwrap();
        noisy_image(&img, 3, BitNorm::default(), &mut o).unwrap();
        assert_eq!(&out[..8], &[0, 180, 72, 252, 144, 36, 216, 108]);
        let n = Image::new(&out, 8, 8, 1).unwrap();
        let s = |y, x| patch_score(&n, y, x, 4).unwrap().total();
        assert_eq!(
            (s(0, 0), s(0, 4), s(4, 0), s(4, 4)),
            (4680, 3960, 4680, 3960)
        );
        let mut rng = crate::rng::default_rng(0);
        let sel = mgps(
            &n,
            4,
            Strategy::Grid { stride: 4 },
            PatchMode::Max,
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            sel,
            Selection {
                y: 0,
                x: 0,
                score: 4680
            }
        );
        let sel = mgps(
            &n,
            4,
            Strategy::Grid { stride: 4 },
            PatchMode::Min,
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            sel,
            Selection {
                y: 0,
                x: 4,
                score: 3960
            }
        );
    }

    #[test]
    fn random_crops_pick_the_best_candidate() {
        let px: [u8; 400] = core::array::from_fn(|k| ((k * 7919 + k / 20 * 31) % 251) as u8);
        let img = Image::new(&px, 20, 20, 1).unwrap();
        let mut rng = crate::rng::default_rng(3);
        let sel = mgps(
            &img,
            5,
            Strategy::RandomCrops { n: 16 },
            PatchMode::Max,
            &mut rng,
        )
        .unwrap();
        // Replay the same crops: the selection is >= every candidate.
        let mut rng = crate::rng::default_rng(3);
        for _ in 0..16 {
            let y = seq::below(&mut rng, 16).unwrap();
            let x = seq::below(&mut rng, 16).unwrap();
            assert!(sel.score >= patch_score(&img, y, x, 5).unwrap().total());
        }
        assert_eq!(code_candidates(256, 32), 64);
        assert_eq!(code_candidates(128, 32), 16);
    }

    #[test]
    fn bad_input_is_typed() {
        let px = [0u8; 16];
        let img = Image::new(&px, 4, 4, 1).unwrap();
        let mut rng = crate::rng::default_rng(0);
        let g = Strategy::Grid { stride: 1 };
        assert!(matches!(
            mgps(&img, 5, g, PatchMode::Max, &mut rng),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            mgps(&img, 0, g, PatchMode::Max, &mut rng),
            Err(Error::InvalidParam { .. })
        ));
        let r = Strategy::RandomCrops { n: 0 };
        assert!(matches!(
            mgps(&img, 2, r, PatchMode::Max, &mut rng),
            Err(Error::InvalidParam { .. })
        ));
        let g0 = Strategy::Grid { stride: 0 };
        assert!(matches!(
            mgps(&img, 2, g0, PatchMode::Max, &mut rng),
            Err(Error::InvalidParam { .. })
        ));
    }
}
