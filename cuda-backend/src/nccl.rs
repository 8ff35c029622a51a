//! Multi-GPU data-parallel DP-SGD: per-rank clip-and-sum, noise added exactly once, NCCL all-reduce
//! (feature `nccl`; `libnccl.so.2` is loaded at run time).
//!
//! DP-SGD (Abadi et al. 2016, "Deep Learning with Differential Privacy", arXiv:1607.00133) releases
//! `sum_i clip(g_i, C) + N(0, sigma^2 C^2 I)` per batch. With the batch split over `R` GPUs, each rank
//! `r` computes its partial clipped sum `S_r`; the noise must enter the all-reduced total once, not
//! `R` times (that would multiply its variance by `R`) and not `1/R` each on independent keys (that
//! would change the numbers between a 1-GPU and an R-GPU run). Here only rank 0 adds
//! `noise_std * z` with `z` from the shared [`NoiseKey`] (the same Philox stream the CPU backend
//! uses), so after `all_reduce(sum)` every rank holds `sum_r S_r + noise_std z`, the single-device
//! result up to the summation order. Cost: one clip-and-sum per rank, one noise fill on rank 0,
//! one ring all-reduce of `cols` floats.

use cudarc::nccl::{Comm, ReduceOp};
use noisekit::backend::Backend;
use noisekit::{Error, NoiseKey, Result};

use crate::{CudaBackend, CudaBuf};

/// The rank that adds the DP noise.
pub const NOISE_RANK: usize = 0;

/// The noise standard deviation rank `rank` adds: `noise_std` on [`NOISE_RANK`], 0 elsewhere.
pub fn rank_noise_std(rank: usize, noise_std: f32) -> f32 {
    if rank == NOISE_RANK {
        noise_std
    } else {
        0.0
    }
}

fn nccl_err(op: &'static str) -> impl Fn(cudarc::nccl::result::NcclError) -> Error {
    move |_| Error::Backend {
        backend: "cuda",
        op,
    }
}

/// One [`CudaBackend`] per device and an NCCL communicator over them (single process).
pub struct DataParallel {
    ranks: Vec<CudaBackend>,
    comms: Vec<Comm>,
}

impl std::fmt::Debug for DataParallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("ranks", &self.ranks)
            .finish()
    }
}

impl DataParallel {
    /// Backends on `devices` (ordinals, rank = position) joined by one NCCL communicator.
    pub fn new(devices: &[usize]) -> Result<Self> {
        if devices.is_empty() {
            return Err(Error::invalid(
                "devices",
                0.0,
                "at least one device ordinal",
            ));
        }
        crate::libraries_present()?;
        // SAFETY: only tries to dlopen libnccl.
        if !unsafe { cudarc::nccl::sys::is_culib_present() } {
            return Err(Error::BackendUnavailable {
                backend: "cuda",
                reason: "libnccl.so.2 not found (pip install nvidia-nccl-cu12)",
            });
        }
        let ranks = devices
            .iter()
            .map(|&d| CudaBackend::on_device(d))
            .collect::<Result<Vec<_>>>()?;
        let streams = ranks.iter().map(|b| b.stream().clone()).collect();
        let comms = Comm::from_devices(streams).map_err(nccl_err("nccl init"))?;
        Ok(DataParallel { ranks, comms })
    }

    /// Number of ranks.
    pub fn world_size(&self) -> usize {
        self.ranks.len()
    }

    /// The backend of rank `r`.
    pub fn rank(&self, r: usize) -> Option<&CudaBackend> {
        self.ranks.get(r)
    }

    /// One data-parallel DP-SGD reduction: rank `r` clips the rows of `grads[r]` (`rows[r] x cols`)
    /// to norm `clip` and sums them into `out[r]`; rank 0 adds `noise_std * N(0,1)` from `key`;
    /// then `out[r]` is all-reduced (sum), so every rank holds the same noisy sum.
    #[allow(clippy::too_many_arguments)]
    pub fn clip_noise_all_reduce(
        &self,
        grads: &[CudaBuf<f32>],
        rows: &[usize],
        cols: usize,
        clip: f32,
        key: NoiseKey,
        noise_std: f32,
        out: &mut [CudaBuf<f32>],
    ) -> Result<()> {
        let world = self.world_size();
        for (what, len) in [
            ("grads", grads.len()),
            ("rows", rows.len()),
            ("out", out.len()),
        ] {
            if len != world {
                return Err(Error::len_mismatch(what, world, len));
            }
        }
        noisekit::error::check::non_negative("noise_std", noise_std as f64)?;
        for r in 0..world {
            let be = &self.ranks[r];
            be.clip_rows_and_sum(&grads[r], rows[r], cols, clip, &mut out[r])?;
            let s = rank_noise_std(r, noise_std);
            if s > 0.0 {
                be.add_normal(key, s, &mut out[r])?;
            }
        }
        if world == 1 {
            return Ok(());
        }
        let mut views = out
            .iter_mut()
            .map(|b| b.view_mut())
            .collect::<Result<Vec<_>>>()?;
        cudarc::nccl::result::group_start().map_err(nccl_err("nccl group start"))?;
        let mut first_err = None;
        for (comm, v) in self.comms.iter().zip(views.iter_mut()) {
            if let Err(e) = comm.all_reduce_in_place(v, &ReduceOp::Sum) {
                first_err.get_or_insert(e);
            }
        }
        cudarc::nccl::result::group_end().map_err(nccl_err("nccl group end"))?;
        if first_err.is_some() {
            return Err(Error::Backend {
                backend: "cuda",
                op: "nccl all-reduce",
            });
        }
        drop(views);
        for be in &self.ranks {
            be.sync()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_enters_exactly_once() {
        let world = 8;
        let stds: Vec<f32> = (0..world).map(|r| rank_noise_std(r, 1.3)).collect();
        assert_eq!(stds.iter().filter(|s| **s > 0.0).count(), 1);
        // variance of the all-reduced noise equals the single-device variance
        let var: f32 = stds.iter().map(|s| s * s).sum();
        assert_eq!(var, 1.3f32 * 1.3f32);
    }
}
