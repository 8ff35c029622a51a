//! A linear layer whose weight gradient is a WTA-CRS / CRS estimate and which stores only the
//! sampled activation rows.
//!
//! Paper: Liu et al., "Winner-Take-All Column Row Sampling for Memory Efficient Adaptation of
//! Language Model", NeurIPS 2023, arXiv 2305.15265 (reference `approxlinear_only_bw`).
//!
//! Forward `Y = X W^T + b` stays exact (done by the caller). The weight gradient
//! `grad_W = G^T X = sum_i G[i,:]^T X[i,:]` is a product over the `N` tokens; the sampling decision
//! is made in the forward pass with `p_i ∝ ||X[i,:]|| ||G[i,:]||`, where the gradient norms are
//! either the current ones (oracle, for tests), stale per-example norms from a [`NormStore`], or
//! absent (`p_i ∝ ||X[i,:]||`). Only the `k` chosen rows `X[idx,:] * scale` and their indices are
//! kept; the backward gathers the same rows of `G` and runs one `(d_out x k) (k x d_in)` gemm.
//! `grad_X = G W` and `grad_b = sum_i G[i,:]` need no stored activation and are exact.
//!
//! Memory: `k d_in` floats + `k` indices instead of `N d_in`. Cost: row norms O(N d_in), plan
//! O(N + k log k), gathers O(k (d_in + d_out)), gemm `2 d_out k d_in` FLOPs (vs `2 d_out N d_in`).

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

use super::crs::{budget, plan, probabilities, Plan, PlanOptions};
use crate::backend::{Backend, Transpose};
use crate::error::{check, Error, Result};

/// Per-example stale gradient norms (the reference code's cached `||dL/dY||`, one per token).
#[derive(Debug, Clone)]
pub struct NormStore {
    norms: Vec<f32>,
}

impl NormStore {
    /// A store for `examples` example ids, all unknown (zero).
    pub fn new(examples: usize) -> Self {
        Self {
            norms: vec![0.0; examples],
        }
    }

    /// Records `||G[r,:]||` (from row squared norms `g_sq`) for the examples `ids`.
    pub fn record(&mut self, ids: &[u32], g_sq: &[f32]) -> Result<()> {
        check::same_len("norm store record", ids.len(), g_sq.len())?;
        for (&i, &s) in ids.iter().zip(g_sq) {
            let slot = self.norms.get_mut(i as usize).ok_or(Error::invalid(
                "example id",
                i as f64,
                "below the store size",
            ))?;
            *slot = libm::sqrtf(s.max(0.0));
        }
        Ok(())
    }

    /// The stored norms of `ids` into `out`; returns `false` (fall back to activation-only
    /// probabilities) unless every id has a recorded, positive norm: a zero norm would give that
    /// row probability 0 and bias the estimate (the reference code only falls back when all are 0).
    pub fn lookup(&self, ids: &[u32], out: &mut [f64]) -> Result<bool> {
        check::same_len("norm store lookup", ids.len(), out.len())?;
        let mut all = true;
        for (o, &i) in out.iter_mut().zip(ids) {
            let v = *self.norms.get(i as usize).ok_or(Error::invalid(
                "example id",
                i as f64,
                "below the store size",
            ))?;
            *o = v as f64;
            all &= v > 0.0;
        }
        Ok(all)
    }
}

/// The sampled-backward state of one linear layer.
pub struct SampledLinear<B: Backend> {
    d_in: usize,
    d_out: usize,
    ratio: f64,
    minimal_k: usize,
    opts: PlanOptions,
    saved: Option<B::Buf<f32>>,
    idx: Vec<u32>,
    scale: Vec<f32>,
    ones: Vec<f32>,
    rows: usize,
    last: Option<Plan>,
}

impl<B: Backend> SampledLinear<B> {
    /// A layer `d_in -> d_out` with budget `k = min(max(floor(N ratio), minimal_k), N)`.
    pub fn new(
        d_in: usize,
        d_out: usize,
        ratio: f64,
        minimal_k: usize,
        opts: PlanOptions,
    ) -> Result<Self> {
        check::nonzero("d_in", d_in)?;
        check::nonzero("d_out", d_out)?;
        check::open(
            "sampling_ratio",
            ratio,
            0.0,
            1.0 + f64::EPSILON,
            "in (0, 1]",
        )?;
        Ok(Self {
            d_in,
            d_out,
            ratio,
            minimal_k,
            opts,
            saved: None,
            idx: Vec::new(),
            scale: Vec::new(),
            ones: Vec::new(),
            rows: 0,
            last: None,
        })
    }

    /// Forward-time sampling: chooses the rows of `x` (`n x d_in`) to keep and stores them scaled.
    /// `g_norms` are the (current or stale) norms of the output gradient rows; `None` = use the
    /// activation norms only.
    pub fn save_for_backward<R: Rng + ?Sized>(
        &mut self,
        be: &B,
        rng: &mut R,
        x: &B::Buf<f32>,
        n: usize,
        g_norms: Option<&[f64]>,
    ) -> Result<Plan> {
        check::nonzero("rows", n)?;
        let mut sq_buf = be.alloc::<f32>(n)?;
        be.row_sq_norms(x, n, self.d_in, &mut sq_buf)?;
        let mut sq = vec![0f32; n];
        be.download(&sq_buf, &mut sq)?;
        check::all_finite_f32("activation row norms", &sq)?;
        let a: Vec<f64> = sq.iter().map(|&s| libm::sqrt(s.max(0.0) as f64)).collect();
        let mut p = vec![0.0; n];
        probabilities(&a, g_norms, &mut p)?;
        let k = budget(n, self.ratio, self.minimal_k)?.max(1);
        let (mut order, mut cdf) = (vec![0u32; n], vec![0.0; n]);
        self.idx.resize(k, 0);
        self.scale.resize(k, 0.0);
        let pl = plan(
            rng,
            &p,
            k,
            self.opts,
            &mut order,
            &mut cdf,
            &mut self.idx,
            &mut self.scale,
        )?;
        self.idx.truncate(pl.len);
        self.scale.truncate(pl.len);
        self.ones = vec![1.0; pl.len];
        let mut saved = be.alloc::<f32>(pl.len * self.d_in)?;
        if pl.len > 0 {
            be.gather_rows(x, self.d_in, &self.idx, &self.scale, &mut saved)?;
        }
        self.saved = Some(saved);
        self.rows = n;
        self.last = Some(pl);
        Ok(pl)
    }

    /// `out = G^T X` estimated from the saved rows (`g`: `n x d_out`, `out`: `d_out x d_in`).
    pub fn weight_grad(&self, be: &B, g: &B::Buf<f32>, out: &mut B::Buf<f32>) -> Result<()> {
        let saved = self.saved.as_ref().ok_or(Error::invalid(
            "saved activations",
            0.0,
            "save_for_backward called first",
        ))?;
        check::same_len("sampled linear (g)", self.rows * self.d_out, be.len(g))?;
        let k = self.idx.len();
        if k == 0 {
            return be.zero(out);
        }
        let mut g_sub = be.alloc::<f32>(k * self.d_out)?;
        be.gather_rows(g, self.d_out, &self.idx, &self.ones, &mut g_sub)?;
        be.gemm(
            Transpose::Yes,
            Transpose::No,
            self.d_out,
            self.d_in,
            k,
            1.0,
            &g_sub,
            saved,
            0.0,
            out,
        )
    }

    /// Activation floats kept for the backward (`k d_in`).
    pub fn stored_floats(&self) -> usize {
        self.idx.len() * self.d_in
    }

    /// Indices kept (`k`).
    pub fn stored_indices(&self) -> usize {
        self.idx.len()
    }

    /// The last plan.
    pub fn last_plan(&self) -> Option<Plan> {
        self.last
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::rng::{default_rng, seq};
    use crate::sampled::crs::Winners;

    #[test]
    fn weight_grad_is_unbiased_and_stores_k_rows() {
        let be = CpuBackend::new();
        let (n, d_in, d_out) = (40, 5, 3);
        let mut rng = default_rng(3);
        let x: Vec<f32> = (0..n * d_in)
            .map(|i| seq::normal_f32(&mut rng) * if i / d_in < 4 { 6.0 } else { 1.0 })
            .collect();
        let g: Vec<f32> = (0..n * d_out).map(|_| seq::normal_f32(&mut rng)).collect();
        let (xb, gb) = (be.upload(&x).unwrap(), be.upload(&g).unwrap());
        let mut exact = be.alloc::<f32>(d_out * d_in).unwrap();
        be.gemm(
            Transpose::Yes,
            Transpose::No,
            d_out,
            d_in,
            n,
            1.0,
            &gb,
            &xb,
            0.0,
            &mut exact,
        )
        .unwrap();
        let mut gsq = vec![0f32; n];
        be.row_sq_norms(&gb, n, d_out, &mut gsq).unwrap();
        let gn: Vec<f64> = gsq.iter().map(|&s| (s as f64).sqrt()).collect();
        let mut layer = SampledLinear::<CpuBackend>::new(
            d_in,
            d_out,
            0.25,
            2,
            PlanOptions {
                winners: Winners::Adaptive,
                tail_cutoff: None,
            },
        )
        .unwrap();
        let draws = 20_000;
        let mut sum = vec![0f64; d_out * d_in];
        let mut sq = vec![0f64; d_out * d_in];
        let mut est = be.alloc::<f32>(d_out * d_in).unwrap();
        for _ in 0..draws {
            layer
                .save_for_backward(&be, &mut rng, &xb, n, Some(&gn))
                .unwrap();
            layer.weight_grad(&be, &gb, &mut est).unwrap();
            for i in 0..est.len() {
                sum[i] += est[i] as f64;
                sq[i] += (est[i] as f64).powi(2);
            }
        }
        assert_eq!(layer.stored_indices(), 10);
        assert_eq!(layer.stored_floats(), 10 * d_in);
        for i in 0..est.len() {
            let m = sum[i] / draws as f64;
            let se = ((sq[i] / draws as f64 - m * m) / draws as f64).sqrt();
            assert!(
                (m - exact[i] as f64).abs() < 5.0 * se + 1e-4,
                "{i}: {m} vs {}",
                exact[i]
            );
        }
    }

    #[test]
    fn norm_store_and_errors() {
        let mut s = NormStore::new(4);
        let mut out = [0.0; 2];
        assert!(!s.lookup(&[0, 1], &mut out).unwrap());
        s.record(&[1], &[4.0]).unwrap();
        assert!(!s.lookup(&[0, 1], &mut out).unwrap());
        assert!(s.lookup(&[1], &mut out[..1]).unwrap());
        assert_eq!(out[0], 2.0);
        assert!(s.record(&[9], &[1.0]).is_err());
        assert!(SampledLinear::<CpuBackend>::new(0, 1, 0.3, 1, PlanOptions::default()).is_err());
        assert!(SampledLinear::<CpuBackend>::new(1, 1, 0.0, 1, PlanOptions::default()).is_err());
        let layer = SampledLinear::<CpuBackend>::new(1, 1, 0.5, 1, PlanOptions::default()).unwrap();
        let be = CpuBackend::new();
        let mut o = vec![0f32; 1];
        assert!(layer.weight_grad(&be, &vec![0f32; 1], &mut o).is_err());
    }
}
