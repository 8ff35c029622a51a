//! In-context learning of linear regression: task samplers, GD/ridge/OLS/SGD/kNN in-context
//! predictors, the one-layer linear self-attention (LSA) model with hand-written gradients, and
//! the SPD/ILWD agreement metrics.
//!
//! Papers: Mahankali et al. 2023, "One Step of Gradient Descent is Provably the Optimal In-Context
//! Learner with One Layer of Linear Self-Attention" (arXiv 2307.03576); Akyürek et al. 2022, "What
//! learning algorithm is in-context learning? Investigations with linear models" (arXiv
//! 2211.15661).
//!
//! | item | file |
//! |---|---|
//! | prompts `x ~ N(0, Sigma)`, `w ~ N(0, Sigma_w)`, noisy/nonlinear `y` | [`task`] |
//! | one-step (preconditioned) GD, k-step GD, `eta*`, `Gamma*`, `R*` | [`gd`] |
//! | ridge, min-norm OLS, Bayes `lambda`, Sherman–Morrison ridge | [`ridge`] |
//! | one-pass clipped SGD | [`sgd`] |
//! | kNN regression | [`knn`] |
//! | LSA forward/gradients, `Gamma_eff`, von Oswald construction | [`lsa`] |
//! | LSA pre-training (Adam, cosine schedule) | `train` (alloc) |
//! | LSA loss/gradient with the gemms on a `Backend` (f32) | `lsa_backend` (alloc) |
//! | all learners as one enum, batched over tasks | `predictor` (alloc) |
//! | SPD, ILWD, alignment | [`metrics`] |
//!
//! Everything except the batch containers, OLS by SVD, the implicit-weight fit and training works
//! without an allocator on caller-provided slices.

pub mod chol;
pub mod gd;
pub mod knn;
pub mod lsa;
#[cfg(feature = "alloc")]
pub mod lsa_backend;
pub mod metrics;
#[cfg(feature = "alloc")]
pub mod predictor;
pub mod ridge;
pub mod sgd;
pub mod task;
#[cfg(feature = "alloc")]
pub mod train;
