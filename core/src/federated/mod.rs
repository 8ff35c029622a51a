//! Federated LoRA with privacy (FedSVD, Lee et al. 2025, arXiv:2505.12805): the LoRA linear layer,
//! the server-side SVD re-factorisation, and a simulation of clients running DP-SGD on the LoRA
//! factors with FedAvg-LoRA, FFA-LoRA or FedSVD aggregation. Everything is `f64` (small layers;
//! the re-factorisation invariants are checked to 1e-10) and needs `alloc`.

pub mod lora;
pub mod refactor;
pub mod simulation;

pub use lora::LoraLinear;
pub use refactor::{svd_refactor, Refactored};
pub use simulation::{
    dirichlet_label_split, Aggregator, ClientData, FedConfig, FedRun, RoundStats,
};
