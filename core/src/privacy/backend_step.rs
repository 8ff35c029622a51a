//! DP-SGD step on a [`Backend`]: the heavy paths (`clip_rows_and_sum`, `add_normal`) run where
//! the per-sample gradients live.
//!
//! Same mechanism as [`super::dpsgd`] (Abadi et al. 2016, arXiv 1607.00133), flat clipping:
//! `out = (sum_i g_i min(1, C/||g_i||) + z C xi) / m`, `xi` from the Philox stream `key` (so the
//! CPU and CUDA backends draw the same noise). Non-finite gradients are rejected before the step.
//! Cost: one fused clip-and-sum pass over `rows x P`, P Gaussian draws, one scaling pass.

use super::dpsgd::{check_expected_batch, check_noise};
use crate::backend::Backend;
use crate::error::{check, Result};
use crate::rng::NoiseKey;

/// `out = (clip-and-sum(g) + z C N(0, I)) / m` on the backend. `g` is `rows x cols`;
/// `scale` is a one-element scratch buffer.
#[allow(clippy::too_many_arguments)]
pub fn dp_sgd_step_backend<B: Backend>(
    backend: &B,
    g: &B::Buf<f32>,
    rows: usize,
    cols: usize,
    clip: f32,
    z: f32,
    expected_batch: f32,
    key: NoiseKey,
    scale: &mut B::Buf<f32>,
    out: &mut B::Buf<f32>,
) -> Result<()> {
    super::clip::check_clip(clip as f64)?;
    check_noise(z as f64)?;
    check_expected_batch(expected_batch as f64)?;
    check::same_len("dp step output", cols, backend.len(out))?;
    check::same_len("dp step scale scratch", 1, backend.len(scale))?;
    backend.clip_rows_and_sum(g, rows, cols, clip, out)?;
    if z > 0.0 {
        backend.add_normal(key, z * clip, out)?;
    }
    backend.write(&[1.0 / expected_batch], scale)?;
    backend.scale_rows(out, 1, cols, scale)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::privacy::{dp_sgd_step, NanPolicy};

    #[test]
    fn backend_step_matches_slice_step() {
        let b = CpuBackend;
        let host: [f32; 6] = [3.0, 4.0, 0.3, -0.4, 0.0, 0.0];
        let key = NoiseKey::new(7, 2);
        let g = b.upload(&host).unwrap();
        let mut out = b.alloc::<f32>(2).unwrap();
        let mut scale = b.alloc::<f32>(1).unwrap();
        dp_sgd_step_backend(&b, &g, 3, 2, 1.0, 1.1, 3.0, key, &mut scale, &mut out).unwrap();
        let mut got = [0f32; 2];
        b.download(&out, &mut got).unwrap();
        let mut want = [0f32; 2];
        dp_sgd_step(&host, 3, 1.0, 1.1, 3.0, NanPolicy::Error, &key, &mut want).unwrap();
        for j in 0..2 {
            assert!((got[j] - want[j]).abs() < 1e-6, "{got:?} vs {want:?}");
        }
        assert!(
            dp_sgd_step_backend(&b, &g, 3, 2, 0.0, 1.1, 3.0, key, &mut scale, &mut out).is_err()
        );
    }
}
