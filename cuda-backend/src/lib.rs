//! `noisekit-cuda`: the [`noisekit::Backend`] heavy paths on an NVIDIA GPU.
//!
//! [`CudaBackend`] runs gemm on cuBLAS and everything else (row norms, clip-and-sum, Philox noise,
//! fused update rules, gather/scatter) as NVRTC kernels compiled at run time from the sources in
//! [`kernels`]. cudarc is built with dynamic loading, so this crate builds and its tests run on a
//! machine without CUDA: [`CudaBackend::new`] then returns [`noisekit::Error::BackendUnavailable`].
//! The noise is the CPU's Philox4x32-10 + Box-Muller layout, so both backends draw the same noise
//! for the same [`noisekit::NoiseKey`].
//!
//! With the `nccl` feature, the `nccl` module adds a data-parallel DP-SGD all-reduce across GPUs with the
//! noise added exactly once.

#![warn(missing_docs)]

pub mod backend;
pub mod buffer;
#[cfg(test)]
mod kernel_model;
pub mod kernels;
pub mod launch;
#[cfg(feature = "nccl")]
pub mod nccl;

pub use backend::{device_count, libraries_present, CudaBackend};
pub use buffer::CudaBuf;

/// The backend on device 0, or `None` after printing one line `SKIP cuda: <reason>` (for tests and
/// benchmarks that need a GPU).
pub fn backend_or_skip() -> Option<CudaBackend> {
    match CudaBackend::new() {
        Ok(b) => Some(b),
        Err(noisekit::Error::BackendUnavailable { reason, .. }) => {
            println!("SKIP cuda: {reason}");
            None
        }
        Err(e) => {
            println!("SKIP cuda: {e}");
            None
        }
    }
}
