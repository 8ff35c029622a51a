//! Image quality metrics: PSNR and SSIM (peak / data range 1).
//!
//! * PSNR: `10 log10(1 / mean((x_hat - x)^2))`; identical images give `+inf`.
//! * SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to
//!   structural similarity" (IEEE TIP 2004), with scikit-image's `structural_similarity` defaults:
//!   7 x 7 uniform window, `K1 = 0.01`, `K2 = 0.03`, sample covariances (factor 49/48),
//!   `C1 = (K1 L)^2`, `C2 = (K2 L)^2`, `L = 1`;
//!   `SSIM = mean over all windows inside the image of
//!   (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))`
//!   (skimage filters with reflection and then crops 3 pixels per side, i.e. keeps exactly these windows).
//!
//! Cost: PSNR O(HW); SSIM O(49 HW). No allocation.

use crate::error::{check, Error, Result};

/// Peak signal-to-noise ratio (peak 1) in dB. Non-finite pixels are errors.
pub fn psnr(x_hat: &[f64], x: &[f64]) -> Result<f64> {
    check::nonzero("pixels", x.len())?;
    check::same_len("psnr", x.len(), x_hat.len())?;
    check::all_finite_f64("x_hat", x_hat)?;
    check::all_finite_f64("x", x)?;
    let mse = x_hat
        .iter()
        .zip(x)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / x.len() as f64;
    if mse == 0.0 {
        return Ok(f64::INFINITY);
    }
    Ok(10.0 * libm::log10(1.0 / mse))
}

/// Window side of [`ssim`].
pub const SSIM_WIN: usize = 7;

/// Mean structural similarity of two `h x w` row-major images (data range 1). Both sides must be
/// at least 7.
pub fn ssim(x: &[f64], y: &[f64], h: usize, w: usize) -> Result<f64> {
    if h < SSIM_WIN || w < SSIM_WIN {
        return Err(Error::invalid(
            "image side",
            h.min(w) as f64,
            "at least 7 pixels for SSIM",
        ));
    }
    let n = h
        .checked_mul(w)
        .ok_or(Error::invalid("image size", h as f64, "h * w fits usize"))?;
    check::same_len("ssim x", n, x.len())?;
    check::same_len("ssim y", n, y.len())?;
    check::all_finite_f64("x", x)?;
    check::all_finite_f64("y", y)?;
    let (c1, c2) = ((0.01f64) * 0.01, (0.03f64) * 0.03);
    let np = (SSIM_WIN * SSIM_WIN) as f64;
    let cov_norm = np / (np - 1.0);
    let mut total = 0.0;
    let mut count = 0usize;
    for r in 0..=h - SSIM_WIN {
        for c in 0..=w - SSIM_WIN {
            let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for i in r..r + SSIM_WIN {
                let row = i * w;
                for (a, b) in x[row + c..row + c + SSIM_WIN]
                    .iter()
                    .zip(&y[row + c..row + c + SSIM_WIN])
                {
                    sx += a;
                    sy += b;
                    sxx += a * a;
                    syy += b * b;
                    sxy += a * b;
                }
            }
            let (ux, uy) = (sx / np, sy / np);
            let vx = cov_norm * (sxx / np - ux * ux);
            let vy = cov_norm * (syy / np - uy * uy);
            let vxy = cov_norm * (sxy / np - ux * uy);
            total += (2.0 * ux * uy + c1) * (2.0 * vxy + c2)
                / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            count += 1;
        }
    }
    Ok(total / count as f64)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn psnr_golden_and_edges() {
        // MSE 0.01 -> 20 dB.
        assert!((psnr(&[0.1, 0.3], &[0.0, 0.4]).unwrap() - 20.0).abs() < 1e-12);
        assert_eq!(psnr(&[0.5], &[0.5]).unwrap(), f64::INFINITY);
        assert!(matches!(
            psnr(&[0.5], &[0.5, 0.1]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            psnr(&[f64::NAN], &[0.5]),
            Err(Error::NonFinite { .. })
        ));
        assert!(psnr(&[], &[]).is_err());
    }

    #[test]
    fn ssim_identity_and_errors() {
        let x: [f64; 64] = core::array::from_fn(|i| ((i * 37) % 11) as f64 / 10.0);
        assert!((ssim(&x, &x, 8, 8).unwrap() - 1.0).abs() < 1e-12);
        assert!(matches!(
            ssim(&x, &x, 4, 16),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            ssim(&x, &x[..63], 8, 8),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
