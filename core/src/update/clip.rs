//! Gradient clipping by global norm: `g <- g min(1, c / ||g||)` over all tensors together
//! (`torch.nn.utils.clip_grad_norm_` without its `1e-6` in the denominator; spec 03 §3).
//! Cost: one pass to reduce the norm (f64 accumulation), one to scale when clipping bites.

use crate::error::{check, Result};

/// `sqrt(sum_k ||g_k||^2)` over every tensor, accumulated in `f64` (NaN if any entry is NaN).
pub fn global_norm(grads: &[&[f32]]) -> f64 {
    let sq: f64 = grads
        .iter()
        .map(|g| g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
        .sum();
    libm::sqrt(sq)
}

/// Scales every tensor by `min(1, clip / ||g||)` (the global norm); returns the norm before
/// clipping. `clip > 0`; a zero norm leaves the gradients unchanged; a non-finite norm is an error
/// (nothing is scaled).
pub fn clip_by_global_norm(grads: &mut [&mut [f32]], clip: f32) -> Result<f64> {
    check::positive("clip", clip as f64)?;
    check::finite("clip", clip as f64)?;
    let norm = {
        let sq: f64 = grads
            .iter()
            .map(|g| g.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>())
            .sum();
        libm::sqrt(sq)
    };
    check::finite("gradient norm", norm)?;
    if norm > clip as f64 {
        let s = (clip as f64 / norm) as f32;
        for g in grads.iter_mut() {
            for x in g.iter_mut() {
                *x *= s;
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn clips_over_all_tensors() {
        let mut a = [3.0f32];
        let mut b = [0.0f32, 4.0];
        let n = clip_by_global_norm(&mut [&mut a, &mut b], 1.0).unwrap();
        assert_eq!(n, 5.0);
        assert!((a[0] - 0.6).abs() < 1e-7 && (b[1] - 0.8).abs() < 1e-7);
        // Below the threshold: unchanged, bit for bit.
        let mut c = [0.3f32, 0.4];
        clip_by_global_norm(&mut [&mut c], 1.0).unwrap();
        assert_eq!(c, [0.3, 0.4]);
        assert_eq!(global_norm(&[&[0.0, 0.0]]), 0.0);
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            clip_by_global_norm(&mut [&mut [1.0]], 0.0),
            Err(Error::InvalidParam { name: "clip", .. })
        ));
        assert!(matches!(
            clip_by_global_norm(&mut [&mut [f32::NAN]], 1.0),
            Err(Error::InvalidParam { .. }) | Err(Error::NonFinite { .. })
        ));
    }
}
