//! The LSA pre-training loss and gradient with the gemm-shaped work on a [`Backend`] (`f32`).
//!
//! Mahankali et al. 2023 (arXiv 2307.03576), same model as [`crate::icl::lsa`]. Stack the context
//! tokens of all `B` tasks as `Z` (`B n x (d+1)`, row `z_i = [x_i; y_i]`) and the parameters as
//! `P = [v | Bq]` (`(d+1) x (d+1)`). Then
//! - `Z P` (one gemm) gives `a_i = v·z_i` (column 0) and `z_i^T Bq` (columns 1..d); on the host
//!   `c_i = (z_i^T Bq)·x_q(b)` and `y_hat_b = (1/n) sum_{i in b} a_i c_i`, `s_b = 2 r_b / B`;
//! - `dL/dv = Z^T (s c / n)` and `dL/dBq = Z^T ((s a / n) ⊙ X_q)` where row `i` of `X_q` is the
//!   query of the task holding token `i`: one gemm `Z^T [s c / n | (s a / n) X_q]`.
//!
//! Masked attention only (the query token is not a key/value, as in the repros). The backend does
//! `O(B n d^2)` of gemm work; the host does `O(B n d)`. `f32` throughout, so it agrees with the
//! `f64` reference to about `1e-5` relative.

use alloc::vec;
use alloc::vec::Vec;

use crate::backend::{Backend, Transpose};
use crate::error::{check, Error, Result};
use crate::icl::task::TaskBatch;
use crate::icl::train::LsaParams;

/// Reusable buffers for [`loss_and_grad_backend`].
pub struct LsaWorkspace<B: Backend> {
    z: B::Buf<f32>,
    p: B::Buf<f32>,
    zp: B::Buf<f32>,
    rhs: B::Buf<f32>,
    grad: B::Buf<f32>,
    host_z: Vec<f32>,
    host_zp: Vec<f32>,
    host_rhs: Vec<f32>,
    host_grad: Vec<f32>,
    rows: usize,
    d: usize,
}

impl<B: Backend> LsaWorkspace<B> {
    /// Buffers for batches of `b` tasks with `n` examples in dimension `d`.
    pub fn new(be: &B, b: usize, n: usize, d: usize) -> Result<Self> {
        check::nonzero("batch", b)?;
        check::nonzero("n", n)?;
        check::nonzero("d", d)?;
        let (rows, m) = (b * n, d + 1);
        Ok(Self {
            z: be.alloc(rows * m)?,
            p: be.alloc(m * m)?,
            zp: be.alloc(rows * m)?,
            rhs: be.alloc(rows * m)?,
            grad: be.alloc(m * m)?,
            host_z: vec![0.0; rows * m],
            host_zp: vec![0.0; rows * m],
            host_rhs: vec![0.0; rows * m],
            host_grad: vec![0.0; m * m],
            rows,
            d,
        })
    }
}

/// Loss `(1/B) sum_b (y_hat_b - y_q,b)^2` of the masked LSA `p` on `batch`, and its gradient into
/// `gv`, `gbq` (overwritten), with the gemms on `be`.
pub fn loss_and_grad_backend<B: Backend>(
    be: &B,
    ws: &mut LsaWorkspace<B>,
    p: &LsaParams,
    batch: &TaskBatch,
    gv: &mut [f64],
    gbq: &mut [f64],
) -> Result<f64> {
    let (n, d, nb) = (batch.n, batch.d, batch.b);
    let m = d + 1;
    check::same_len("workspace d", ws.d, d)?;
    check::same_len("workspace rows", ws.rows, nb * n)?;
    check::same_len("params d", p.d, d)?;
    check::same_len("gv", m, gv.len())?;
    check::same_len("gbq", m * d, gbq.len())?;
    if !p.masked {
        return Err(Error::invalid(
            "masked",
            0.0,
            "a masked LSA (the backend path has no query token)",
        ));
    }
    // Z and P.
    for (r, (xi, &yi)) in batch.x.chunks_exact(d).zip(&batch.y).enumerate() {
        let row = &mut ws.host_z[r * m..(r + 1) * m];
        row[..d]
            .iter_mut()
            .zip(xi)
            .for_each(|(a, &b)| *a = b as f32);
        row[d] = yi as f32;
    }
    let mut host_p = vec![0f32; m * m];
    for k in 0..m {
        host_p[k * m] = p.v[k] as f32;
        for j in 0..d {
            host_p[k * m + 1 + j] = p.bq[k * d + j] as f32;
        }
    }
    be.write(&ws.host_z, &mut ws.z)?;
    be.write(&host_p, &mut ws.p)?;
    be.gemm(
        Transpose::No,
        Transpose::No,
        ws.rows,
        m,
        m,
        1.0,
        &ws.z,
        &ws.p,
        0.0,
        &mut ws.zp,
    )?;
    be.download(&ws.zp, &mut ws.host_zp)?;
    // Host: y_hat, residual scale, right-hand side of the gradient gemm.
    let inv_n = 1.0 / n as f64;
    let mut loss = 0.0;
    for t in 0..nb {
        let xq = &batch.xq[t * d..(t + 1) * d];
        let rows = t * n..(t + 1) * n;
        let c = |r: usize| -> f64 {
            let zp = &ws.host_zp[r * m..(r + 1) * m];
            zp[1..].iter().zip(xq).map(|(a, &b)| *a as f64 * b).sum()
        };
        let yhat: f64 = rows
            .clone()
            .map(|r| ws.host_zp[r * m] as f64 * c(r))
            .sum::<f64>()
            * inv_n;
        let res = yhat - batch.yq[t];
        loss += res * res;
        let s = 2.0 * res / nb as f64;
        for r in rows {
            let a = ws.host_zp[r * m] as f64;
            let rhs = &mut ws.host_rhs[r * m..(r + 1) * m];
            rhs[0] = (s * c(r) * inv_n) as f32;
            let sa = s * a * inv_n;
            rhs[1..]
                .iter_mut()
                .zip(xq)
                .for_each(|(o, &q)| *o = (sa * q) as f32);
        }
    }
    be.write(&ws.host_rhs, &mut ws.rhs)?;
    be.gemm(
        Transpose::Yes,
        Transpose::No,
        m,
        m,
        ws.rows,
        1.0,
        &ws.z,
        &ws.rhs,
        0.0,
        &mut ws.grad,
    )?;
    be.download(&ws.grad, &mut ws.host_grad)?;
    for k in 0..m {
        gv[k] = ws.host_grad[k * m] as f64;
        for j in 0..d {
            gbq[k * d + j] = ws.host_grad[k * m + 1 + j] as f64;
        }
    }
    let loss = loss / nb as f64;
    if loss.is_finite() {
        Ok(loss)
    } else {
        Err(Error::NonFinite {
            what: "lsa loss",
            index: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuBackend;
    use crate::icl::task::TaskSpec;
    use crate::rng::default_rng;

    #[test]
    fn backend_gradient_matches_the_f64_reference() {
        let (d, n, b) = (4, 7, 33);
        let mut r = default_rng(8);
        let batch = TaskBatch::sample(&mut r, &TaskSpec::isotropic(d, n, 0.5), b).unwrap();
        let p = LsaParams::init(&mut r, d, 0.4, true).unwrap();
        let (mut gv, mut gb) = (vec![0.0; d + 1], vec![0.0; (d + 1) * d]);
        let want = p.loss_and_grad(&batch, &mut gv, &mut gb).unwrap();
        let be = CpuBackend;
        let mut ws = LsaWorkspace::new(&be, b, n, d).unwrap();
        let (mut gv2, mut gb2) = (vec![0.0; d + 1], vec![0.0; (d + 1) * d]);
        let got = loss_and_grad_backend(&be, &mut ws, &p, &batch, &mut gv2, &mut gb2).unwrap();
        assert!((got - want).abs() < 1e-5 * want.abs());
        let scale = gv.iter().chain(&gb).fold(0.0f64, |a, v| a.max(v.abs()));
        for (a, b) in gv.iter().chain(&gb).zip(gv2.iter().chain(&gb2)) {
            assert!((a - b).abs() < 1e-5 * scale, "{a} vs {b}");
        }
        let unmasked = LsaParams { masked: false, ..p };
        assert!(
            loss_and_grad_backend(&be, &mut ws, &unmasked, &batch, &mut gv2, &mut gb2).is_err()
        );
    }
}
