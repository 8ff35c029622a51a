//! Per-sample clipping and summation on slices (the first half of a DP-SGD step).
//!
//! Paper: Abadi et al., "Deep Learning with Differential Privacy", 2016, arXiv 1607.00133;
//! per-group (per-layer) thresholds as Opacus' `DPPerLayerOptimizer` and RLDP (arXiv 2507.22565).
//!
//! For sample `i` and parameter group `k` (contiguous lengths `groups`, thresholds `C_k > 0`):
//! `g~_i^(k) = g_i^(k) * min(1, C_k / ||g_i^(k)||_2)` (a zero norm keeps factor 1), and
//! `sum^(k) = sum_i g~_i^(k)`. One group = flat clipping. Norms are accumulated in `f64`.
//! Non-finite gradients follow [`NanPolicy`]: return [`Error::NonFinite`] naming the sample, or drop
//! the sample and count it (never clip a NaN: `min(1, C/NaN)` is NaN).
//! Cost: O(rows x P) reads, one pass per sample; no allocation.

use crate::error::{check, Error, Result};

/// Largest number of parameter groups.
pub const MAX_GROUPS: usize = 16;

/// What to do with a per-sample gradient holding NaN or infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanPolicy {
    /// Fail the step with [`Error::NonFinite`] (index = the sample).
    #[default]
    Error,
    /// Leave the sample out of the sum and count it in [`ClipStats::dropped`].
    Drop,
}

/// What a clip-and-sum pass saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClipStats {
    /// Samples summed.
    pub used: usize,
    /// Samples dropped for non-finite values ([`NanPolicy::Drop`]).
    pub dropped: usize,
    /// Samples with at least one group clipped (factor < 1).
    pub clipped: usize,
}

/// `min(1, c / norm)`, with factor 1 for a zero norm.
#[inline]
pub fn clip_factor(norm: f64, c: f64) -> f64 {
    if norm > c {
        c / norm
    } else {
        1.0
    }
}

/// Checks a clip threshold: finite and > 0.
pub fn check_clip(c: f64) -> Result<()> {
    if c.is_finite() && c > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid("clip (C)", c, "a finite number > 0"))
    }
}

/// Checks group lengths against the parameter count and thresholds.
pub fn check_groups(groups: &[usize], clips: &[f32], p: usize) -> Result<()> {
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        return Err(Error::invalid(
            "groups",
            groups.len() as f64,
            "between 1 and 16 parameter groups",
        ));
    }
    check::same_len("group clip thresholds", groups.len(), clips.len())?;
    check::same_len("sum of group lengths", p, groups.iter().sum())?;
    for &c in clips {
        check_clip(c as f64)?;
    }
    Ok(())
}

/// Clips each of the `rows` per-sample gradients (`per_sample` is `rows x P`, row-major) group by
/// group and adds them to `sum` (length P; not zeroed here). When `norms` is given
/// (`rows x groups.len()`), it receives every per-group norm before clipping (NaN for a dropped
/// sample).
pub fn clip_and_sum_groups(
    per_sample: &[f32],
    rows: usize,
    groups: &[usize],
    clips: &[f32],
    policy: NanPolicy,
    sum: &mut [f32],
    mut norms: Option<&mut [f32]>,
) -> Result<ClipStats> {
    let p = sum.len();
    check_groups(groups, clips, p)?;
    check::same_len("per-sample gradients", rows * p, per_sample.len())?;
    if let Some(n) = norms.as_deref() {
        check::same_len("per-sample norms", rows * groups.len(), n.len())?;
    }
    let k = groups.len();
    let mut stats = ClipStats::default();
    let mut factors = [1.0f32; MAX_GROUPS];
    for (i, row) in per_sample.chunks_exact(p.max(1)).enumerate().take(rows) {
        if let Some(bad) = row.iter().position(|v| !v.is_finite()) {
            let _ = bad;
            match policy {
                NanPolicy::Error => {
                    return Err(Error::NonFinite {
                        what: "per-sample gradient (sample index)",
                        index: i,
                    })
                }
                NanPolicy::Drop => {
                    stats.dropped += 1;
                    if let Some(n) = norms.as_deref_mut() {
                        n[i * k..(i + 1) * k].fill(f32::NAN);
                    }
                    continue;
                }
            }
        }
        let mut start = 0;
        let mut any = false;
        for (g, (&len, &c)) in groups.iter().zip(clips).enumerate() {
            let seg = &row[start..start + len];
            let sq: f64 = seg.iter().map(|&v| (v as f64) * (v as f64)).sum();
            let norm = libm::sqrt(sq);
            let f = clip_factor(norm, c as f64);
            any |= f < 1.0;
            factors[g] = f as f32;
            if let Some(n) = norms.as_deref_mut() {
                n[i * k + g] = norm as f32;
            }
            start += len;
        }
        let mut start = 0;
        for (g, &len) in groups.iter().enumerate() {
            let f = factors[g];
            for (s, &v) in sum[start..start + len]
                .iter_mut()
                .zip(&row[start..start + len])
            {
                *s += f * v;
            }
            start += len;
        }
        stats.used += 1;
        stats.clipped += usize::from(any);
    }
    Ok(stats)
}

/// Flat clipping: [`clip_and_sum_groups`] with one group of threshold `clip`.
pub fn clip_and_sum(
    per_sample: &[f32],
    rows: usize,
    clip: f32,
    policy: NanPolicy,
    sum: &mut [f32],
    norms: Option<&mut [f32]>,
) -> Result<ClipStats> {
    let p = sum.len();
    clip_and_sum_groups(per_sample, rows, &[p], &[clip], policy, sum, norms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_case_flat() {
        // Spec 11, oracle 1: (3,4) -> (0.6,0.8); (0.3,-0.4) unchanged; (0,0) stays 0.
        let g = [3.0f32, 4.0, 0.3, -0.4, 0.0, 0.0];
        let mut sum = [0f32; 2];
        let mut norms = [0f32; 3];
        let st = clip_and_sum(&g, 3, 1.0, NanPolicy::Error, &mut sum, Some(&mut norms)).unwrap();
        assert!((sum[0] - 0.9).abs() < 1e-6 && (sum[1] - 0.4).abs() < 1e-6);
        assert_eq!(norms, [5.0, 0.5, 0.0]);
        assert_eq!(
            st,
            ClipStats {
                used: 3,
                dropped: 0,
                clipped: 1
            }
        );
    }

    #[test]
    fn groups_clip_independently() {
        // Groups of length 2 and 1 with C = (1, 0.5): row (3,4 | 2) -> (0.6,0.8 | 0.5).
        let g = [3.0f32, 4.0, 2.0];
        let mut sum = [0f32; 3];
        clip_and_sum_groups(
            &g,
            1,
            &[2, 1],
            &[1.0, 0.5],
            NanPolicy::Error,
            &mut sum,
            None,
        )
        .unwrap();
        assert!((sum[0] - 0.6).abs() < 1e-6 && (sum[1] - 0.8).abs() < 1e-6);
        assert!((sum[2] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn nan_policy() {
        let g = [1.0f32, f32::NAN, 0.1, 0.1];
        let mut sum = [0f32; 2];
        let e = clip_and_sum(&g, 2, 1.0, NanPolicy::Error, &mut sum, None);
        assert!(matches!(e, Err(Error::NonFinite { index: 0, .. })));
        let mut sum = [0f32; 2];
        let st = clip_and_sum(&g, 2, 1.0, NanPolicy::Drop, &mut sum, None).unwrap();
        assert_eq!((st.used, st.dropped), (1, 1));
        assert!((sum[0] - 0.1).abs() < 1e-7 && !sum[1].is_nan());
    }

    #[test]
    fn bad_input() {
        let g = [1.0f32, 2.0];
        let mut sum = [0f32; 2];
        for c in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
            assert!(matches!(
                clip_and_sum(&g, 1, c, NanPolicy::Error, &mut sum, None),
                Err(Error::InvalidParam { .. })
            ));
        }
        assert!(matches!(
            clip_and_sum(&g, 2, 1.0, NanPolicy::Error, &mut sum, None),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(clip_and_sum_groups(
            &g,
            1,
            &[1, 2],
            &[1.0, 1.0],
            NanPolicy::Error,
            &mut sum,
            None
        )
        .is_err());
    }
}
