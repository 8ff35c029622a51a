//! Losses with their gradients with respect to the model output, averaged over the batch.

use crate::error::{check, Error, Result};

/// Mean softmax cross-entropy over a `batch x classes` logit matrix; writes
/// `d_logits = (softmax(z) - onehot(y)) / batch`. Log-sum-exp is shifted by the row max.
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
    d_logits: &mut [f32],
) -> Result<f32> {
    check::nonzero("classes", classes)?;
    let batch = labels.len();
    check::nonzero("batch", batch)?;
    check::same_len("logits", batch * classes, logits.len())?;
    check::same_len("d_logits", logits.len(), d_logits.len())?;
    let inv = 1.0 / batch as f32;
    let mut total = 0.0f64;
    for ((z, d), &y) in logits
        .chunks_exact(classes)
        .zip(d_logits.chunks_exact_mut(classes))
        .zip(labels)
    {
        if y >= classes {
            return Err(Error::invalid(
                "label",
                y as f64,
                "a class index below `classes`",
            ));
        }
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (di, &zi) in d.iter_mut().zip(z) {
            *di = libm::expf(zi - max);
            sum += *di;
        }
        total += (libm::logf(sum) + max - z[y]) as f64;
        for di in d.iter_mut() {
            *di *= inv / sum;
        }
        d[y] -= inv;
    }
    Ok((total / batch as f64) as f32)
}

/// Mean squared error `mean_i ||pred_i - target_i||^2 / 2` over `batch` rows of width `dim`;
/// writes `d_pred = (pred - target) / batch`.
pub fn mse(pred: &[f32], target: &[f32], batch: usize, d_pred: &mut [f32]) -> Result<f32> {
    check::nonzero("batch", batch)?;
    check::same_len("target", pred.len(), target.len())?;
    check::same_len("d_pred", pred.len(), d_pred.len())?;
    let inv = 1.0 / batch as f32;
    let mut total = 0.0f64;
    for ((d, &p), &t) in d_pred.iter_mut().zip(pred).zip(target) {
        let r = p - t;
        total += 0.5 * (r as f64) * (r as f64);
        *d = r * inv;
    }
    Ok((total / batch as f64) as f32)
}

/// Fraction of rows whose arg-max equals the label.
pub fn accuracy(logits: &[f32], labels: &[usize], classes: usize) -> Result<f64> {
    check::nonzero("classes", classes)?;
    check::nonzero("batch", labels.len())?;
    check::same_len("logits", labels.len() * classes, logits.len())?;
    let hits = logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(z, &y)| {
            let arg = z
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0;
            arg == y
        })
        .count();
    Ok(hits as f64 / labels.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_matches_hand_values() {
        // logits (1, 2, 3), label 2: loss = log(e^1 + e^2 + e^3) - 3 = 0.40760596444
        let mut d = [0f32; 3];
        let l = softmax_cross_entropy(&[1., 2., 3.], &[2], 3, &mut d).unwrap();
        assert!((l - 0.407_605_96).abs() < 1e-6);
        // softmax = (0.09003057, 0.24472847, 0.66524096)
        assert!((d[0] - 0.090_030_57).abs() < 1e-6);
        assert!((d[2] - (0.665_240_96 - 1.0)).abs() < 1e-6);
        assert!(softmax_cross_entropy(&[1., 2., 3.], &[3], 3, &mut d).is_err());
    }

    #[test]
    fn mse_and_accuracy() {
        let mut d = [0f32; 2];
        let l = mse(&[1., 3.], &[0., 1.], 2, &mut d).unwrap();
        assert!((l - 1.25).abs() < 1e-7);
        assert_eq!(d, [0.5, 1.0]);
        assert_eq!(accuracy(&[0., 1., 5., 2.], &[1, 1], 2).unwrap(), 0.5);
    }
}
