//! LOTA: bit-plane noise features of 8-bit images and a light classifier head.
//!
//! Paper: Wang, Cheng, Zhang, Han, Gui, "LOTA: Bit-Planes Guided AI-Generated Image Detection",
//! ICCV 2025, arXiv 2510.14230; reference code `hongsong-wang/LOTA` (`bit_patch.py`).
//!
//! | item | file |
//! |---|---|
//! | validated `[H, W, C]` u8 image view | [`image`] |
//! | bit planes, low-bit image, normalisations | [`planes`] |
//! | multi-directional gradient noise score | [`score`] |
//! | maximum-gradient patch selection (random crops, grid) | [`mgps`] |
//! | hand-crafted patch features | [`features`] |
//! | standardised L2 logistic-regression head | [`logistic`] |

pub mod features;
pub mod image;
pub mod logistic;
pub mod mgps;
pub mod planes;
pub mod score;

pub use image::{Image, ImageMut};
pub use planes::BitNorm;
