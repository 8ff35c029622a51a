//! Launch-configuration maths and the row-major to column-major gemm plan (pure functions, tested
//! on the CPU).
//!
//! Element-wise kernels use 1-D grid-stride loops: 256 threads per block and at most
//! [`MAX_BLOCKS`] blocks, so any `u64` length is covered. Row reductions use one block per row
//! (grid-stride over rows). cuBLAS is column-major; a row-major `C = op(A) op(B)` (m x n) is the
//! column-major `C^T = op(B)^T op(A)^T` (n x m), so A and B swap places ([`GemmPlan`]).

use cudarc::driver::LaunchConfig;
use noisekit::backend::Transpose;
use noisekit::Error;

/// Threads per block for every kernel (a multiple of the warp size, as `nk_block_sum` needs).
pub const THREADS: u32 = 256;
/// Upper bound on the grid size of grid-stride kernels.
pub const MAX_BLOCKS: u64 = 1 << 20;

/// A grid-stride launch covering `work` items (one per thread), or `None` when there is no work.
pub fn grid_for(work: u64) -> Option<LaunchConfig> {
    if work == 0 {
        return None;
    }
    let blocks = work.div_ceil(THREADS as u64).min(MAX_BLOCKS);
    Some(LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    })
}

/// Number of Philox blocks (four `f32` elements each) for `n` elements.
pub fn quads(n: u64) -> u64 {
    n.div_ceil(4)
}

/// One block per row (grid-stride over rows beyond 65 535), or `None` when `rows == 0`.
pub fn per_row(rows: u64) -> Option<LaunchConfig> {
    if rows == 0 {
        return None;
    }
    Some(LaunchConfig {
        grid_dim: (rows.min(65_535) as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    })
}

/// cuBLAS arguments for a row-major `C = alpha op(A) op(B) + beta C`: the first cuBLAS operand is
/// B, the second A, and the column-major problem is `n x m` with inner dimension `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GemmPlan {
    /// Transpose the first cuBLAS operand (B's buffer).
    pub trans_first: bool,
    /// Transpose the second cuBLAS operand (A's buffer).
    pub trans_second: bool,
    /// cuBLAS `m` (= our `n`).
    pub m: i32,
    /// cuBLAS `n` (= our `m`).
    pub n: i32,
    /// cuBLAS `k`.
    pub k: i32,
    /// Leading dimension of B's buffer.
    pub lda: i32,
    /// Leading dimension of A's buffer.
    pub ldb: i32,
    /// Leading dimension of C (= our `n`).
    pub ldc: i32,
}

fn to_i32(name: &'static str, v: usize) -> Result<i32, Error> {
    i32::try_from(v).map_err(|_| Error::invalid(name, v as f64, "at most i32::MAX (cuBLAS limit)"))
}

impl GemmPlan {
    /// The plan for row-major `op(A)` m x k, `op(B)` k x n (all dimensions >= 1 and <= `i32::MAX`).
    pub fn new(ta: Transpose, tb: Transpose, m: usize, n: usize, k: usize) -> Result<Self, Error> {
        let (mi, ni, ki) = (to_i32("m", m)?, to_i32("n", n)?, to_i32("k", k)?);
        Ok(GemmPlan {
            trans_first: tb == Transpose::Yes,
            trans_second: ta == Transpose::Yes,
            m: ni,
            n: mi,
            k: ki,
            // B stored k x n (row-major) is column-major n x k with ld n; stored n x k has ld k.
            lda: if tb == Transpose::No { ni } else { ki },
            // A stored m x k has ld k; stored k x m has ld m.
            ldb: if ta == Transpose::No { ki } else { mi },
            ldc: ni,
        })
    }

    /// Reference column-major sgemm with this plan's arguments (what cuBLAS computes), on host
    /// slices: `c = alpha op1(first) op2(second) + beta c`. Used to test the plan on the CPU.
    #[allow(clippy::too_many_arguments)]
    pub fn reference(&self, alpha: f32, first: &[f32], second: &[f32], beta: f32, c: &mut [f32]) {
        let (m, n, k) = (self.m as usize, self.n as usize, self.k as usize);
        let (lda, ldb, ldc) = (self.lda as usize, self.ldb as usize, self.ldc as usize);
        // column-major element (i, j) of X with leading dimension ld: X[i + j ld]
        let a_at = |i: usize, l: usize| {
            if self.trans_first {
                first[l + i * lda]
            } else {
                first[i + l * lda]
            }
        };
        let b_at = |l: usize, j: usize| {
            if self.trans_second {
                second[j + l * ldb]
            } else {
                second[l + j * ldb]
            }
        };
        for j in 0..n {
            for i in 0..m {
                let mut acc = 0.0f64;
                for l in 0..k {
                    acc += a_at(i, l) as f64 * b_at(l, j) as f64;
                }
                let o = &mut c[i + j * ldc];
                *o = (alpha as f64 * acc + beta as f64 * *o as f64) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noisekit::backend::{Backend, CpuBackend};

    #[test]
    fn grid_covers_work_and_caps_blocks() {
        assert!(grid_for(0).is_none());
        let c = grid_for(1).unwrap();
        assert_eq!((c.grid_dim.0, c.block_dim.0), (1, 256));
        assert_eq!(grid_for(256).unwrap().grid_dim.0, 1);
        assert_eq!(grid_for(257).unwrap().grid_dim.0, 2);
        // 100M parameters in quads: 25M threads -> 97 657 blocks, under the cap
        assert_eq!(grid_for(quads(100_000_000)).unwrap().grid_dim.0, 97_657);
        assert_eq!(grid_for(u64::MAX).unwrap().grid_dim.0 as u64, MAX_BLOCKS);
        assert_eq!(quads(0), 0);
        assert_eq!(quads(5), 2);
        assert_eq!(quads(8), 2);
        assert!(per_row(0).is_none());
        assert_eq!(per_row(70_000).unwrap().grid_dim.0, 65_535);
        assert_eq!(per_row(3).unwrap().grid_dim.0, 3);
    }

    #[test]
    fn swapped_column_major_plan_matches_row_major_cpu_gemm() {
        let be = CpuBackend;
        let (m, n, k) = (3usize, 5usize, 4usize);
        for ta in [Transpose::No, Transpose::Yes] {
            for tb in [Transpose::No, Transpose::Yes] {
                let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
                let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
                let c0: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.1).collect();
                let mut want = c0.clone();
                be.gemm(ta, tb, m, n, k, 1.5, &a, &b, 0.5, &mut want)
                    .unwrap();
                let plan = GemmPlan::new(ta, tb, m, n, k).unwrap();
                let mut got = c0.clone();
                plan.reference(1.5, &b, &a, 0.5, &mut got);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "{ta:?} {tb:?}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn plan_rejects_dimensions_beyond_i32() {
        let big = i32::MAX as usize + 1;
        let e = GemmPlan::new(Transpose::No, Transpose::No, big, 1, 1).unwrap_err();
        assert!(matches!(e, Error::InvalidParam { name: "m", .. }));
    }
}
