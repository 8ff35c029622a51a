//! The classical in-context learners as one enum, applied to a whole batch of tasks.
//!
//! Akyürek et al. 2022, "What learning algorithm is in-context learning? Investigations with
//! linear models" (arXiv 2211.15661): OLS, ridge, GD, one-pass SGD and kNN; Mahankali et al. 2023
//! (arXiv 2307.03576): one (preconditioned) GD step. Each variant delegates to its file
//! ([`crate::icl::gd`], [`crate::icl::ridge`], [`crate::icl::sgd`], [`crate::icl::knn`]); the batch
//! loop reuses one set of scratch buffers. Cost per task: see each file (`O(n d)` for one GD step
//! up to `O(n d min(n, d))` for OLS).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error, Result};
use crate::icl::knn::{knn_predict, KnnWeighting};
use crate::icl::task::TaskBatch;

/// An in-context learning algorithm: maps a context `(X, y)` to a predictor.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictor {
    /// One GD step from 0 with scalar step `eta`.
    Gd1 {
        /// Step size.
        eta: f64,
    },
    /// One GD step from 0 with matrix step `gamma` (`d x d`, `w_1 = gamma X^T y / n`).
    Preconditioned {
        /// The preconditioner.
        gamma: Vec<f64>,
    },
    /// `k` GD steps from 0 with step `eta`.
    GdSteps {
        /// Step size.
        eta: f64,
        /// Number of steps.
        k: usize,
    },
    /// Ridge (sklearn convention, `lambda >= 0`; 0 = min-norm OLS by SVD).
    Ridge {
        /// Penalty.
        lambda: f64,
    },
    /// Min-norm least squares.
    Ols,
    /// One pass of clipped SGD.
    Sgd {
        /// Step.
        alpha: f64,
        /// Weight decay.
        weight_decay: f64,
        /// Element-wise gradient clip.
        clip: f64,
    },
    /// k nearest neighbours.
    Knn {
        /// Neighbours.
        k: usize,
        /// Weighting.
        weighting: KnnWeighting,
    },
}

impl Predictor {
    /// Whether the learned predictor is linear in the query (then [`Predictor::weights`] applies).
    pub fn is_linear(&self) -> bool {
        !matches!(self, Predictor::Knn { .. })
    }

    /// The weight vector learned from context `(x, y)` (`n x d`), into `w`; `Error::invalid` for kNN.
    pub fn weights(&self, x: &[f64], y: &[f64], n: usize, d: usize, w: &mut [f64]) -> Result<()> {
        match self {
            Predictor::Gd1 { eta } => {
                crate::icl::gd::context_moment(x, y, n, d, w)?;
                w.iter_mut().for_each(|v| *v *= eta);
                Ok(())
            }
            Predictor::Preconditioned { gamma } => {
                check::same_len("gamma (d*d)", d * d, gamma.len())?;
                let mut h = vec![0.0; d];
                crate::icl::gd::context_moment(x, y, n, d, &mut h)?;
                for (wi, row) in w.iter_mut().zip(gamma.chunks_exact(d)) {
                    *wi = crate::linalg::dot(row, &h);
                }
                Ok(())
            }
            Predictor::GdSteps { eta, k } => {
                let mut r = vec![0.0; n];
                crate::icl::gd::gd_steps_weights(x, y, n, d, *eta, *k, w, &mut r)
            }
            Predictor::Ridge { lambda } if *lambda > 0.0 => {
                let mut ws = vec![0.0; crate::icl::ridge::ridge_scratch_len(n, d)];
                crate::icl::ridge::ridge_weights(x, y, n, d, *lambda, &mut ws, w)
            }
            Predictor::Ridge { lambda } => {
                check::non_negative("lambda", *lambda)?;
                crate::icl::ridge::ols_weights(x, y, n, d, w)
            }
            Predictor::Ols => crate::icl::ridge::ols_weights(x, y, n, d, w),
            Predictor::Sgd {
                alpha,
                weight_decay,
                clip,
            } => crate::icl::sgd::sgd_one_pass_weights(x, y, n, d, *alpha, *weight_decay, *clip, w),
            Predictor::Knn { .. } => Err(Error::invalid(
                "predictor",
                0.0,
                "a linear predictor (kNN has no weights)",
            )),
        }
    }

    /// The prediction at `xq` from context `(x, y)`.
    pub fn predict(&self, x: &[f64], y: &[f64], xq: &[f64], n: usize, d: usize) -> Result<f64> {
        if let Predictor::Knn { k, weighting } = self {
            return knn_predict(x, y, xq, n, d, *k, *weighting);
        }
        check::same_len("x_q", d, xq.len())?;
        let mut w = vec![0.0; d];
        self.weights(x, y, n, d, &mut w)?;
        Ok(crate::linalg::dot(&w, xq))
    }

    /// Predictions at every task's query into `out` (length `B`).
    pub fn predict_batch(&self, batch: &TaskBatch, out: &mut [f64]) -> Result<()> {
        check::same_len("predictions", batch.b, out.len())?;
        let (n, d) = (batch.n, batch.d);
        let mut w = vec![0.0; d];
        for (i, o) in out.iter_mut().enumerate() {
            let (x, y, xq, _, _) = batch
                .task(i)
                .ok_or(Error::len_mismatch("batch", batch.b, i))?;
            *o = match self {
                Predictor::Knn { k, weighting } => knn_predict(x, y, xq, n, d, *k, *weighting)?,
                _ => {
                    self.weights(x, y, n, d, &mut w)?;
                    crate::linalg::dot(&w, xq)
                }
            };
        }
        Ok(())
    }

    /// The learned weights of every task (`B x d`, row-major); kNN -> `Error::invalid`.
    pub fn weights_batch(&self, batch: &TaskBatch, out: &mut [f64]) -> Result<()> {
        let (n, d) = (batch.n, batch.d);
        check::same_len("weights (B*d)", batch.b * d, out.len())?;
        for (i, w) in out.chunks_exact_mut(d).enumerate() {
            let (x, y, _, _, _) = batch
                .task(i)
                .ok_or(Error::len_mismatch("batch", batch.b, i))?;
            self.weights(x, y, n, d, w)?;
        }
        Ok(())
    }
}

/// Online (prefix) evaluation of one task, as `online_regression` in the reference code: for
/// `i = 1..n-1`, fit `pred` on the first `i` examples and predict `x_{i+1}`; `out[i-1]` gets the
/// prediction (length `n - 1`). The "error vs number of exemplars" curves average
/// `(out[i-1] - y_{i+1})^2` over tasks. Cost: `n` fits.
pub fn online_predictions(
    pred: &Predictor,
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    out: &mut [f64],
) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("online predictions (n-1)", n - 1, out.len())?;
    for (i, o) in (1..n).zip(out.iter_mut()) {
        *o = pred.predict(&x[..i * d], &y[..i], &x[i * d..(i + 1) * d], i, d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icl::task::TaskSpec;
    use crate::rng::default_rng;

    #[test]
    fn variants_agree_with_their_files_and_scale_with_y() {
        let x = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let y = [1.0, 2.0, 2.0];
        let xq = [1.0, 2.0];
        let cases = [
            (Predictor::Gd1 { eta: 0.5 }, 1.833333333333333),
            (
                Predictor::Preconditioned {
                    gamma: vec![1.0, 0.0, 0.0, 2.0],
                },
                6.333333333333333,
            ),
            (Predictor::GdSteps { eta: 0.5, k: 2 }, 2.777777777777778),
            (Predictor::Ridge { lambda: 1.0 }, 2.875),
            (Predictor::Ridge { lambda: 0.0 }, 4.0),
            (Predictor::Ols, 4.0),
            (
                Predictor::Sgd {
                    alpha: 0.1,
                    weight_decay: 0.0,
                    clip: 20.0,
                },
                1.84,
            ),
            (
                Predictor::Knn {
                    k: 2,
                    weighting: KnnWeighting::Uniform,
                },
                2.0,
            ),
        ];
        let y3: Vec<f64> = y.iter().map(|v| 3.0 * v).collect();
        for (p, want) in &cases {
            let got = p.predict(&x, &y, &xq, 3, 2).unwrap();
            assert!((got - want).abs() < 1e-12, "{p:?}: {got}");
            // Scaling y by c scales the prediction by c (SGD: unclipped here).
            let got3 = p.predict(&x, &y3, &xq, 3, 2).unwrap();
            if !matches!(p, Predictor::Sgd { .. }) {
                assert!((got3 - 3.0 * want).abs() < 1e-11, "{p:?}");
            }
        }
        assert!(Predictor::Knn {
            k: 2,
            weighting: KnnWeighting::Uniform
        }
        .weights(&x, &y, 3, 2, &mut [0.0; 2])
        .is_err());
        assert!(Predictor::Ridge { lambda: -1.0 }
            .predict(&x, &y, &xq, 3, 2)
            .is_err());
    }

    #[test]
    fn online_prefix_oracle() {
        // Spec 12: ridge(1) predicts x_2 from the first example -> 0.0, x_3 from the first two -> 1.5.
        let mut out = [0.0; 2];
        let x = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        online_predictions(
            &Predictor::Ridge { lambda: 1.0 },
            &x,
            &[1.0, 2.0, 2.0],
            3,
            2,
            &mut out,
        )
        .unwrap();
        assert!(
            out[0].abs() < 1e-15 && (out[1] - 1.5).abs() < 1e-14,
            "{out:?}"
        );
        assert!(
            online_predictions(&Predictor::Ols, &x, &[1.0, 2.0, 2.0], 3, 2, &mut [0.0; 3]).is_err()
        );
    }

    #[test]
    fn batch_matches_single_and_ridge_tends_to_ols() {
        let spec = TaskSpec::isotropic(4, 9, 0.3);
        let batch = TaskBatch::sample(&mut default_rng(2), &spec, 20).unwrap();
        let mut a = vec![0.0; 20];
        let mut b = vec![0.0; 20];
        Predictor::Ridge { lambda: 1e-9 }
            .predict_batch(&batch, &mut a)
            .unwrap();
        Predictor::Ols.predict_batch(&batch, &mut b).unwrap();
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-6);
        }
        let (x, y, xq, _, _) = batch.task(7).unwrap();
        assert_eq!(Predictor::Ols.predict(x, y, xq, 9, 4).unwrap(), b[7]);
    }
}
