//! A validated view of an 8-bit image stored row-major as `[H, W, C]` (interleaved channels).
//!
//! Used by the LOTA pipeline (Wang et al., ICCV 2025, arXiv 2510.14230). Validation only; no cost
//! beyond `O(1)`.

use crate::error::{check, Error, Result};

/// Read-only `[H, W, C]` u8 image.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    data: &'a [u8],
    h: usize,
    w: usize,
    c: usize,
}

fn check_shape(len: usize, h: usize, w: usize, c: usize) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(Error::invalid(
            "image size",
            0.0,
            "H >= 1 and W >= 1 (empty image)",
        ));
    }
    if c == 0 {
        return Err(Error::invalid("channels", 0.0, "C >= 1"));
    }
    let n = h
        .checked_mul(w)
        .and_then(|x| x.checked_mul(c))
        .ok_or(Error::invalid(
            "image size",
            h as f64,
            "H * W * C to fit in memory",
        ))?;
    check::same_len("image buffer", n, len)
}

impl<'a> Image<'a> {
    /// Wraps `data` (length `h * w * c`). Errors: empty or mismatched shape.
    pub fn new(data: &'a [u8], h: usize, w: usize, c: usize) -> Result<Self> {
        check_shape(data.len(), h, w, c)?;
        Ok(Self { data, h, w, c })
    }

    /// Height.
    pub fn height(&self) -> usize {
        self.h
    }

    /// Width.
    pub fn width(&self) -> usize {
        self.w
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.c
    }

    /// The raw buffer.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Pixel `(i, j, ch)`; 0 outside the image.
    #[inline]
    pub fn at(&self, i: usize, j: usize, ch: usize) -> u8 {
        self.data
            .get((i * self.w + j) * self.c + ch)
            .copied()
            .unwrap_or(0)
    }

    /// Row `i` as a slice of `W * C` values (empty outside the image).
    #[inline]
    pub fn row(&self, i: usize) -> &'a [u8] {
        let rl = self.w * self.c;
        self.data.get(i * rl..(i + 1) * rl).unwrap_or(&[])
    }
}

/// Mutable `[H, W, C]` u8 image (output buffers).
#[derive(Debug)]
pub struct ImageMut<'a> {
    data: &'a mut [u8],
    h: usize,
    w: usize,
    c: usize,
}

impl<'a> ImageMut<'a> {
    /// Wraps `data` (length `h * w * c`).
    pub fn new(data: &'a mut [u8], h: usize, w: usize, c: usize) -> Result<Self> {
        check_shape(data.len(), h, w, c)?;
        Ok(Self { data, h, w, c })
    }

    /// A read-only view.
    pub fn as_image(&self) -> Image<'_> {
        Image {
            data: self.data,
            h: self.h,
            w: self.w,
            c: self.c,
        }
    }

    /// The raw buffer.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.data
    }

    /// `(H, W, C)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.h, self.w, self.c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        assert!(matches!(
            Image::new(&[], 0, 3, 1),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            Image::new(&[1, 2, 3], 1, 2, 1),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            Image::new(&[1], 1, 1, 0),
            Err(Error::InvalidParam { .. })
        ));
        let img = Image::new(&[1, 2, 3, 4, 5, 6], 1, 2, 3).unwrap();
        assert_eq!(img.at(0, 1, 2), 6);
        assert_eq!(img.at(5, 1, 2), 0);
        assert_eq!(img.row(0).len(), 6);
    }
}
