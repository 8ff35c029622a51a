//! One DP-SGD step on caller-provided per-sample gradients (slices; no allocation).
//!
//! Paper: Abadi et al., "Deep Learning with Differential Privacy", 2016, arXiv 1607.00133; noise
//! and averaging as Opacus' `DPOptimizer`.
//!
//! `G = sum_{i in S} g~_i + xi`, `xi_j ~ N(0, s_j^2)` with `s_j = z_k C_k` for the group `k`
//! holding coordinate `j` (flat: `s = z C`), then `g_hat = G / m` with `m = q N` the EXPECTED batch
//! size (dividing by `|S|` would leak `|S|`). The noise is element `j` of the Philox stream `key`
//! (the same numbers on every backend). The ledger is charged with
//! `z_eff = (sum_k z_k^-2)^(-1/2)` ([`super::groups`]); flat clipping gives `z_eff = z`.
//! Cost: clip-and-sum O(|S| P) + P Gaussian draws; no allocation.

use super::clip::{check_clip, clip_and_sum_groups, ClipStats, NanPolicy};
use crate::error::{Error, Result};
use crate::rng::{bulk, NoiseKey};

/// Checks a noise multiplier: finite and >= 0.
pub fn check_noise(z: f64) -> Result<()> {
    if z.is_finite() && z >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "sigma (noise multiplier)",
            z,
            "a finite number >= 0",
        ))
    }
}

/// Checks the expected batch size `m = q N > 0`.
pub fn check_expected_batch(m: f64) -> Result<()> {
    if m.is_finite() && m > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "expected batch size (q N)",
            m,
            "a finite number > 0",
        ))
    }
}

/// DP-SGD step with one clip threshold `clip` and noise multiplier `z`: writes `g_hat` into `out`
/// (length P). `per_sample` is `rows x P` (the realised batch; `rows` may be 0).
#[allow(clippy::too_many_arguments)]
pub fn dp_sgd_step(
    per_sample: &[f32],
    rows: usize,
    clip: f32,
    z: f32,
    expected_batch: f32,
    policy: NanPolicy,
    key: &NoiseKey,
    out: &mut [f32],
) -> Result<ClipStats> {
    let p = out.len();
    dp_sgd_step_groups(
        per_sample,
        rows,
        &[p],
        &[clip],
        &[z],
        expected_batch,
        policy,
        key,
        out,
    )
}

/// DP-SGD step with per-group thresholds `clips[k]` and noise multipliers `noise[k]`
/// (noise std `noise[k] * clips[k]` on group `k`).
#[allow(clippy::too_many_arguments)]
pub fn dp_sgd_step_groups(
    per_sample: &[f32],
    rows: usize,
    groups: &[usize],
    clips: &[f32],
    noise: &[f32],
    expected_batch: f32,
    policy: NanPolicy,
    key: &NoiseKey,
    out: &mut [f32],
) -> Result<ClipStats> {
    if noise.len() != clips.len() {
        return Err(Error::len_mismatch(
            "group noise multipliers",
            clips.len(),
            noise.len(),
        ));
    }
    for &z in noise {
        check_noise(z as f64)?;
    }
    for &c in clips {
        check_clip(c as f64)?;
    }
    check_expected_batch(expected_batch as f64)?;
    out.fill(0.0);
    let stats = clip_and_sum_groups(per_sample, rows, groups, clips, policy, out, None)?;
    add_group_noise(groups, clips, noise, key, out);
    let inv_m = 1.0 / expected_batch;
    for v in out.iter_mut() {
        *v *= inv_m;
    }
    Ok(stats)
}

/// `out[j] += z_k C_k N(0,1)_j` (element `j` of the stream `key`) for every group.
pub fn add_group_noise(
    groups: &[usize],
    clips: &[f32],
    noise: &[f32],
    key: &NoiseKey,
    out: &mut [f32],
) {
    let mut start = 0;
    for ((&len, &c), &z) in groups.iter().zip(clips).zip(noise) {
        let std = z * c;
        let end = (start + len).min(out.len());
        if let Some(seg) = out.get_mut(start..end) {
            if std != 0.0 {
                bulk::add_normal_f32_at(key, start, std, seg);
            }
        }
        start += len;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn hand_case_with_and_without_noise() {
        let g = [3.0f32, 4.0, 0.3, -0.4, 0.0, 0.0];
        let key = NoiseKey::new(9, 1);
        let mut out = [0f32; 2];
        dp_sgd_step(&g, 3, 1.0, 0.0, 3.0, NanPolicy::Error, &key, &mut out).unwrap();
        assert!((out[0] - 0.3).abs() < 1e-6 && (out[1] - 0.4 / 3.0).abs() < 1e-6);
        // With z = 1 the noise part is exactly z C xi / m with xi the stream's first normals.
        let mut xi = [0f32; 2];
        bulk::fill_normal_f32(&key, &mut xi);
        let mut noisy = [0f32; 2];
        dp_sgd_step(&g, 3, 1.0, 1.0, 3.0, NanPolicy::Error, &key, &mut noisy).unwrap();
        for j in 0..2 {
            assert!((noisy[j] - (out[j] + xi[j] / 3.0)).abs() < 1e-6);
        }
        // The spec's worked draw xi = (0.1, -0.2): G = (1.0, 0.2), g_hat = G / 3.
        let want = [(0.9f32 + 0.1) / 3.0, (0.4f32 - 0.2) / 3.0];
        assert!((want[0] - 0.333_333_33).abs() < 1e-6 && (want[1] - 0.066_666_67).abs() < 1e-6);
    }

    #[test]
    fn noise_statistics_match_z_c_over_m() {
        // Zero gradients: g_hat is pure noise with std z C / m per coordinate.
        const P: usize = 100_000;
        let mut out = std::vec![0f32; P];
        let (c, z, m) = (0.5f32, 1.3f32, 7.0f32);
        dp_sgd_step(
            &[],
            0,
            c,
            z,
            m,
            NanPolicy::Error,
            &NoiseKey::new(11, 3),
            &mut out,
        )
        .unwrap();
        let sd = (z * c / m) as f64;
        let n = P as f64;
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
        // Mean: z-test; variance: chi-square(n-1) normal approximation; both at the 1% level.
        assert!((mean / (sd / n.sqrt())).abs() < 2.576, "mean {mean}");
        let zvar = (var / (sd * sd) - 1.0) / (2.0 / (n - 1.0)).sqrt();
        assert!(zvar.abs() < 2.576, "variance z = {zvar}");
    }

    #[test]
    fn group_noise_uses_per_group_std() {
        let key = NoiseKey::new(5, 0);
        let mut out = [0f32; 3];
        dp_sgd_step_groups(
            &[],
            0,
            &[2, 1],
            &[1.0, 0.5],
            &[1.2, 1.6],
            1.0,
            NanPolicy::Error,
            &key,
            &mut out,
        )
        .unwrap();
        let mut xi = [0f32; 3];
        bulk::fill_normal_f32(&key, &mut xi);
        assert!((out[0] - 1.2 * xi[0]).abs() < 1e-6);
        assert!((out[2] - 0.8 * xi[2]).abs() < 1e-6);
    }

    #[test]
    fn bad_input() {
        let key = NoiseKey::new(0, 0);
        let mut out = [0f32; 2];
        let g = [1.0f32, 1.0];
        assert!(dp_sgd_step(&g, 1, 1.0, -1.0, 1.0, NanPolicy::Error, &key, &mut out).is_err());
        assert!(dp_sgd_step(&g, 1, 1.0, f32::NAN, 1.0, NanPolicy::Error, &key, &mut out).is_err());
        assert!(dp_sgd_step(&g, 1, 0.0, 1.0, 1.0, NanPolicy::Error, &key, &mut out).is_err());
        assert!(dp_sgd_step(&g, 1, 1.0, 1.0, 0.0, NanPolicy::Error, &key, &mut out).is_err());
    }
}
