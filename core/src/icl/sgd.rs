//! One-pass SGD in-context predictor (the `SGD` baseline of Akyürek et al. 2022, "What learning
//! algorithm is in-context learning?", arXiv 2211.15661, `incontext/algos.py`).
//!
//! From `w = 0`, for each example in order: `g = -2 x_i (y_i - w·x_i) + 2 wd w`,
//! `g = clamp(g, -clip, clip)` element-wise, `w <- w - alpha g`. This is the intended semantics; the
//! reference code's windowed `fit` uses `min(0, i - window)` instead of `max`, so its `fit` with
//! window 1 refits the whole prefix; its online `iterate` path matches this function.
//! Cost: `O(n d)`, no allocation.

use crate::error::{check, Result};

/// One pass of clipped SGD over the `n` examples; weights into `w` (length `d`).
#[allow(clippy::too_many_arguments)]
pub fn sgd_one_pass_weights(
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    alpha: f64,
    weight_decay: f64,
    clip: f64,
    w: &mut [f64],
) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("w", d, w.len())?;
    check::non_negative("alpha", alpha)?;
    check::non_negative("weight_decay", weight_decay)?;
    check::positive("clip", clip)?;
    w.fill(0.0);
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let r = yi - crate::linalg::dot(xi, w);
        for (wj, &xj) in w.iter_mut().zip(xi) {
            let g = (-2.0 * xj * r + 2.0 * weight_decay * *wj).clamp(-clip, clip);
            *wj -= alpha * g;
        }
    }
    check::all_finite_f64("sgd weights", w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_12_oracle() {
        // w = [0.2, 0] -> [0.2, 0.4] -> [0.48, 0.68]; y_hat([1, 2]) = 1.84.
        let mut w = [0.0; 2];
        sgd_one_pass_weights(
            &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            &[1.0, 2.0, 2.0],
            3,
            2,
            0.1,
            0.0,
            20.0,
            &mut w,
        )
        .unwrap();
        assert!((w[0] - 0.48).abs() < 1e-14 && (w[1] - 0.68).abs() < 1e-14);
        assert!((w[0] + 2.0 * w[1] - 1.84).abs() < 1e-14);
        // Clipping: a huge residual moves each coordinate by at most alpha * clip.
        sgd_one_pass_weights(&[1.0, 1.0], &[1e6], 1, 2, 0.1, 0.0, 20.0, &mut w).unwrap();
        assert_eq!(w, [2.0, 2.0]);
        assert!(sgd_one_pass_weights(&[1.0, 1.0], &[1.0], 1, 2, 0.1, 0.0, 0.0, &mut w).is_err());
    }
}
