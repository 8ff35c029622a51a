//! One-layer linear self-attention (LSA) for in-context regression: forward, gradients of the
//! pre-training loss, the effective preconditioner, and the von Oswald GD construction.
//!
//! Mahankali et al. 2023, "One Step of Gradient Descent is Provably the Optimal In-Context Learner
//! with One Layer of Linear Self-Attention" (arXiv 2307.03576); von Oswald et al. 2022,
//! "Transformers learn in-context by gradient descent" (arXiv 2212.07677).
//!
//! Tokens `z_i = [x_i; y_i]` (i = 1..n) and `z_q = [x_q; 0]` form `E` (`(d+1) x (n+1)`).
//! `f(E) = E + W_PV E M (E^T W_KQ E) / n`, `M = I` (unmasked) or `diag(1..1, 0)` (masked); the
//! prediction is `f(E)[d, n]`. Only the last row `v` of `W_PV` and the first `d` columns `Bq` of
//! `W_KQ` reach it: `y_hat = v^T G Bq x_q` with `G = (1/n) sum_i z_i z_i^T (+ z_q z_q^T / n when
//! unmasked)`. Computed here without forming `G`: with `u = Bq x_q`, `a_i = v·z_i`, `c_i = z_i·u`,
//! `y_hat = (1/n) sum_i a_i c_i`, so `dy/dv = (1/n) sum_i c_i z_i` and
//! `dy/dBq = (G v) x_q^T = ((1/n) sum_i a_i z_i) x_q^T`. Loss on a batch:
//! `L = (1/B) sum_b (y_hat_b - y_q,b)^2`, gradients `(2/B) sum_b r_b dy_b`.
//!
//! Effective preconditioner (spec 01, §5): with `v = [v_x; v_y]`, `Bq = [B_x; b_y^T]`, the part of
//! `y_hat` odd in the labels is `x_q^T Gamma_eff h`, `h = X^T y / n`,
//! `Gamma_eff = v_y B_x^T + b_y v_x^T`; the even part
//! `v_x^T (X^T X [+ x_q x_q^T]) B_x x_q / n + v_y (y^T y / n) b_y^T x_q` vanishes at the optimum.
//!
//! Cost per task: `O(n d + d^2)` for a prediction or its gradient (the `O(n d^2)` Gram matrix is
//! never formed).

use crate::error::{check, Result};

/// Parameter lengths for dimension `d`: `v` has `d + 1`, `Bq` has `(d + 1) d` (row-major).
pub const fn param_lens(d: usize) -> (usize, usize) {
    (d + 1, (d + 1) * d)
}

fn check_params(v: &[f64], bq: &[f64], d: usize) -> Result<()> {
    check::nonzero("d", d)?;
    let (lv, lb) = param_lens(d);
    check::same_len("v (d+1)", lv, v.len())?;
    check::same_len("bq ((d+1)*d)", lb, bq.len())
}

/// `u = Bq x_q` (length `d + 1`).
fn bq_times(bq: &[f64], xq: &[f64], d: usize, u: &mut [f64]) {
    for (ui, row) in u.iter_mut().zip(bq.chunks_exact(d)) {
        *ui = crate::linalg::dot(row, xq);
    }
}

/// `z·p` for the token `[x; y]` and a vector `p` of length `d + 1`.
#[inline]
fn tok_dot(x: &[f64], y: f64, p: &[f64], d: usize) -> f64 {
    crate::linalg::dot(x, &p[..d]) + y * p[d]
}

/// The LSA prediction for one task (reduced form); `u` is scratch of length `d + 1`.
#[allow(clippy::too_many_arguments)]
pub fn lsa_predict(
    v: &[f64],
    bq: &[f64],
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    masked: bool,
    u: &mut [f64],
) -> Result<f64> {
    check_params(v, bq, d)?;
    check::nonzero("n", n)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("x_q", d, xq.len())?;
    check::same_len("scratch u", d + 1, u.len())?;
    Ok(predict_unchecked(v, bq, x, y, xq, n, d, masked, u))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn predict_unchecked(
    v: &[f64],
    bq: &[f64],
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    masked: bool,
    u: &mut [f64],
) -> f64 {
    bq_times(bq, xq, d, u);
    let mut s: f64 = x
        .chunks_exact(d)
        .zip(y)
        .map(|(xi, &yi)| tok_dot(xi, yi, v, d) * tok_dot(xi, yi, u, d))
        .sum();
    if !masked {
        s += tok_dot(xq, 0.0, v, d) * tok_dot(xq, 0.0, u, d);
    }
    s / n as f64
}

/// Sensitivity `d y_hat / d x_q` of the *masked* LSA, `(v^T G Bq)^T` (length `d`): the implicit
/// linear weight of the model on this context. `gv` is scratch of length `d + 1`.
#[allow(clippy::too_many_arguments)]
pub fn lsa_implicit_weight(
    v: &[f64],
    bq: &[f64],
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    gv: &mut [f64],
    out: &mut [f64],
) -> Result<()> {
    check_params(v, bq, d)?;
    check::nonzero("n", n)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("scratch", d + 1, gv.len())?;
    check::same_len("out", d, out.len())?;
    gram_times_v(v, x, y, n, d, gv);
    // out_j = sum_k gv_k Bq[k, j].
    out.fill(0.0);
    for (row, &g) in bq.chunks_exact(d).zip(gv.iter()) {
        crate::linalg::axpy(g, row, out);
    }
    Ok(())
}

/// `gv = G v` over the context tokens only (`(1/n) sum_i (v·z_i) z_i`).
fn gram_times_v(v: &[f64], x: &[f64], y: &[f64], n: usize, d: usize, gv: &mut [f64]) {
    gv.fill(0.0);
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let a = tok_dot(xi, yi, v, d) / n as f64;
        crate::linalg::axpy(a, xi, &mut gv[..d]);
        gv[d] += a * yi;
    }
}

/// Adds `scale * d y_hat / d(v, Bq)` of one task to `gv`, `gbq`; `u`, `w` are scratch of length
/// `d + 1`. Returns `y_hat`.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
pub(crate) fn accumulate_grad(
    v: &[f64],
    bq: &[f64],
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    masked: bool,
    u: &mut [f64],
    gvv: &mut [f64],
    scale_fn: &mut dyn FnMut(f64) -> f64,
    gv: &mut [f64],
    gbq: &mut [f64],
) -> f64 {
    bq_times(bq, xq, d, u);
    // dy/dv = (1/n) sum c_i z_i ; G v = (1/n) sum a_i z_i (both with the query token if unmasked).
    let inv_n = 1.0 / n as f64;
    gvv.fill(0.0);
    let mut yhat = 0.0;
    // First pass: y_hat and G v; the c_i z_i sum is added after the scale is known, in a second pass.
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let a = tok_dot(xi, yi, v, d);
        let c = tok_dot(xi, yi, u, d);
        yhat += a * c;
        crate::linalg::axpy(a * inv_n, xi, &mut gvv[..d]);
        gvv[d] += a * inv_n * yi;
    }
    let (aq, cq) = (tok_dot(xq, 0.0, v, d), tok_dot(xq, 0.0, u, d));
    if !masked {
        yhat += aq * cq;
        crate::linalg::axpy(aq * inv_n, xq, &mut gvv[..d]);
    }
    yhat *= inv_n;
    let s = scale_fn(yhat);
    if s == 0.0 {
        return yhat;
    }
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        let c = tok_dot(xi, yi, u, d) * inv_n * s;
        crate::linalg::axpy(c, xi, &mut gv[..d]);
        gv[d] += c * yi;
    }
    if !masked {
        crate::linalg::axpy(cq * inv_n * s, xq, &mut gv[..d]);
    }
    for (row, &g) in gbq.chunks_exact_mut(d).zip(gvv.iter()) {
        crate::linalg::axpy(s * g, xq, row);
    }
    yhat
}

/// `Gamma_eff = v_y B_x^T + b_y v_x^T` (row-major `d x d`, acting on `h` as `w = Gamma h`).
pub fn effective_gamma(v: &[f64], bq: &[f64], d: usize, out: &mut [f64]) -> Result<()> {
    check_params(v, bq, d)?;
    check::same_len("gamma out", d * d, out.len())?;
    let vy = v[d];
    let by = &bq[d * d..];
    for i in 0..d {
        for j in 0..d {
            out[i * d + j] = vy * bq[j * d + i] + by[i] * v[j];
        }
    }
    Ok(())
}

/// The part of `y_hat` odd in the labels, `x_q^T Gamma_eff h`, for one task; `h` is scratch (`d`).
#[allow(clippy::too_many_arguments)]
pub fn lsa_odd_part(
    v: &[f64],
    bq: &[f64],
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    gamma: &mut [f64],
    h: &mut [f64],
) -> Result<f64> {
    effective_gamma(v, bq, d, gamma)?;
    crate::icl::gd::preconditioned_gd_predict(x, y, xq, n, d, gamma, h)
}

/// Splits full `(d+1) x (d+1)` matrices `W_KQ`, `W_PV` into the parameters that reach the
/// prediction: `v` = last row of `W_PV`, `Bq` = first `d` columns of `W_KQ`.
pub fn params_from_full(
    wkq: &[f64],
    wpv: &[f64],
    d: usize,
    v: &mut [f64],
    bq: &mut [f64],
) -> Result<()> {
    check_params(v, bq, d)?;
    let m = d + 1;
    check::same_len("w_kq", m * m, wkq.len())?;
    check::same_len("w_pv", m * m, wpv.len())?;
    v.copy_from_slice(&wpv[d * m..]);
    for (i, row) in bq.chunks_exact_mut(d).enumerate() {
        row.copy_from_slice(&wkq[i * m..i * m + d]);
    }
    Ok(())
}

/// The von Oswald et al. construction in this parameterisation: `W_KQ = [[eta I_d, 0], [0, 0]]`,
/// `W_PV = e_{d+1} e_{d+1}^T`, so that `y_hat = eta x_q^T X^T y / n`, one GD step from 0. (Their
/// code puts `eta/n` in the projection and writes `-y_hat` to the label slot; here the sign is
/// folded so the label slot holds `+y_hat`.)
pub fn von_oswald_weights(d: usize, eta: f64, wkq: &mut [f64], wpv: &mut [f64]) -> Result<()> {
    check::nonzero("d", d)?;
    check::finite("eta", eta)?;
    let m = d + 1;
    check::same_len("w_kq", m * m, wkq.len())?;
    check::same_len("w_pv", m * m, wpv.len())?;
    wkq.fill(0.0);
    wpv.fill(0.0);
    (0..d).for_each(|i| wkq[i * m + i] = eta);
    wpv[m * m - 1] = 1.0;
    Ok(())
}

/// The full forward `f(E) = E + W_PV E M (E^T W_KQ E) / n`, returned as the `(d+1) x (n+1)`
/// row-major output. `O(n^2 d)`: a reference for tests; use [`lsa_predict`] otherwise.
#[cfg(feature = "alloc")]
#[allow(clippy::too_many_arguments)]
pub fn lsa_forward_full(
    wkq: &[f64],
    wpv: &[f64],
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    masked: bool,
) -> Result<alloc::vec::Vec<f64>> {
    use alloc::vec;
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    let (m, c) = (d + 1, n + 1);
    check::same_len("w_kq", m * m, wkq.len())?;
    check::same_len("w_pv", m * m, wpv.len())?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("x_q", d, xq.len())?;
    let mut e = vec![0.0; m * c];
    for j in 0..n {
        (0..d).for_each(|i| e[i * c + j] = x[j * d + i]);
        e[d * c + j] = y[j];
    }
    (0..d).for_each(|i| e[i * c + n] = xq[i]);
    let matmul = |a: &[f64], ar: usize, ac: usize, b: &[f64], bc: usize| {
        let mut o = vec![0.0; ar * bc];
        for i in 0..ar {
            for k in 0..ac {
                for j in 0..bc {
                    o[i * bc + j] += a[i * ac + k] * b[k * bc + j];
                }
            }
        }
        o
    };
    let mut et = vec![0.0; c * m];
    for i in 0..m {
        for j in 0..c {
            et[j * m + i] = e[i * c + j];
        }
    }
    let kq = matmul(&et, c, m, &matmul(wkq, m, m, &e, c), c); // E^T W_KQ E, c x c
    let mut em = e.clone();
    if masked {
        (0..m).for_each(|i| em[i * c + n] = 0.0);
    }
    let pv = matmul(&matmul(wpv, m, m, &em, c), m, c, &kq, c);
    Ok(e.iter().zip(&pv).map(|(a, b)| a + b / n as f64).collect())
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    const X: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    const Y: [f64; 3] = [1.0, 2.0, 2.0];
    const XQ: [f64; 2] = [1.0, 2.0];
    const WKQ: [f64; 9] = [1.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.5, 0.0, 0.2];
    const WPV: [f64; 9] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.3, -0.2, 0.8];

    fn reduced(wkq: &[f64], wpv: &[f64], masked: bool) -> f64 {
        let (mut v, mut bq, mut u) = ([0.0; 3], [0.0; 6], [0.0; 3]);
        params_from_full(wkq, wpv, 2, &mut v, &mut bq).unwrap();
        lsa_predict(&v, &bq, &X, &Y, &XQ, 3, 2, masked, &mut u).unwrap()
    }

    #[test]
    fn forward_oracles() {
        // Oracle 2: W_KQ = diag(1, 2, 0), W_PV = e3 e3^T, unmasked -> 6.333333.
        let wkq = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let wpv = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let full = lsa_forward_full(&wkq, &wpv, &X, &Y, &XQ, 3, 2, false).unwrap();
        assert!((full[2 * 4 + 3] - 19.0 / 3.0).abs() < 1e-12);
        assert!((reduced(&wkq, &wpv, false) - 19.0 / 3.0).abs() < 1e-12);
        // Oracle 3: general weights, unmasked 4.95, masked 5.15.
        for (masked, want) in [(false, 4.95), (true, 5.15)] {
            let full = lsa_forward_full(&WKQ, &WPV, &X, &Y, &XQ, 3, 2, masked).unwrap();
            assert!(
                (full[2 * 4 + 3] - want).abs() < 1e-12,
                "{masked}: {}",
                full[11]
            );
            assert!((reduced(&WKQ, &WPV, masked) - want).abs() < 1e-12);
        }
        // Gamma_eff = [[0.95, -0.1], [0.4, 0.8]], odd part 3.75.
        let (mut v, mut bq, mut g, mut h) = ([0.0; 3], [0.0; 6], [0.0; 4], [0.0; 2]);
        params_from_full(&WKQ, &WPV, 2, &mut v, &mut bq).unwrap();
        let odd = lsa_odd_part(&v, &bq, &X, &Y, &XQ, 3, 2, &mut g, &mut h).unwrap();
        for (a, b) in g.iter().zip([0.95, -0.1, 0.4, 0.8]) {
            assert!((a - b).abs() < 1e-15);
        }
        assert!((odd - 3.75).abs() < 1e-12);
    }

    #[test]
    fn von_oswald_is_one_gd_step() {
        let (mut wkq, mut wpv) = ([0.0; 9], [0.0; 9]);
        for eta in [0.5, 1.3] {
            von_oswald_weights(2, eta, &mut wkq, &mut wpv).unwrap();
            let gd = crate::icl::gd::one_step_gd_predict(&X, &Y, &XQ, 3, 2, eta).unwrap();
            for masked in [false, true] {
                let full = lsa_forward_full(&wkq, &wpv, &X, &Y, &XQ, 3, 2, masked).unwrap();
                assert!((full[11] - gd).abs() < 1e-13);
                assert!((reduced(&wkq, &wpv, masked) - gd).abs() < 1e-13);
            }
        }
        // Linear in y: doubling y doubles y_hat.
        let (mut v, mut bq, mut u) = ([0.0; 3], [0.0; 6], [0.0; 3]);
        params_from_full(&wkq, &wpv, 2, &mut v, &mut bq).unwrap();
        let y2: Vec<f64> = Y.iter().map(|a| 2.0 * a).collect();
        let a = lsa_predict(&v, &bq, &X, &Y, &XQ, 3, 2, true, &mut u).unwrap();
        let b = lsa_predict(&v, &bq, &X, &y2, &XQ, 3, 2, true, &mut u).unwrap();
        assert!((b - 2.0 * a).abs() < 1e-13);
    }

    #[test]
    fn gradient_matches_finite_differences_and_gamma_invariance() {
        let (mut v, mut bq) = ([0.0; 3], [0.0; 6]);
        params_from_full(&WKQ, &WPV, 2, &mut v, &mut bq).unwrap();
        for masked in [false, true] {
            let (mut gv, mut gb, mut u, mut w) = ([0.0; 3], [0.0; 6], [0.0; 3], [0.0; 3]);
            accumulate_grad(
                &v,
                &bq,
                &X,
                &Y,
                &XQ,
                3,
                2,
                masked,
                &mut u,
                &mut w,
                &mut |_| 1.0,
                &mut gv,
                &mut gb,
            );
            let f = |v: &[f64], bq: &[f64]| {
                let mut u = [0.0; 3];
                lsa_predict(v, bq, &X, &Y, &XQ, 3, 2, masked, &mut u).unwrap()
            };
            let hstep = 1e-6;
            for k in 0..3 {
                let (mut p, mut m) = (v, v);
                p[k] += hstep;
                m[k] -= hstep;
                assert!(((f(&p, &bq) - f(&m, &bq)) / (2.0 * hstep) - gv[k]).abs() < 1e-8);
            }
            for k in 0..6 {
                let (mut p, mut m) = (bq, bq);
                p[k] += hstep;
                m[k] -= hstep;
                assert!(((f(&v, &p) - f(&v, &m)) / (2.0 * hstep) - gb[k]).abs() < 1e-8);
            }
        }
        // (v, Bq) -> (c v, Bq / c) leaves Gamma_eff unchanged.
        let (mut g1, mut g2) = ([0.0; 4], [0.0; 4]);
        effective_gamma(&v, &bq, 2, &mut g1).unwrap();
        let v2: Vec<f64> = v.iter().map(|a| 2.5 * a).collect();
        let b2: Vec<f64> = bq.iter().map(|a| a / 2.5).collect();
        effective_gamma(&v2, &b2, 2, &mut g2).unwrap();
        for (a, b) in g1.iter().zip(g2) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn implicit_weight_is_the_masked_sensitivity() {
        let (mut v, mut bq, mut gv, mut w) = ([0.0; 3], [0.0; 6], [0.0; 3], [0.0; 2]);
        params_from_full(&WKQ, &WPV, 2, &mut v, &mut bq).unwrap();
        lsa_implicit_weight(&v, &bq, &X, &Y, 3, 2, &mut gv, &mut w).unwrap();
        let mut u = [0.0; 3];
        let y = lsa_predict(&v, &bq, &X, &Y, &XQ, 3, 2, true, &mut u).unwrap();
        assert!((crate::linalg::dot(&w, &XQ) - y).abs() < 1e-13);
        assert!(lsa_predict(&v, &bq[..5], &X, &Y, &XQ, 3, 2, true, &mut u).is_err());
        assert!(lsa_predict(&v, &bq, &[], &[], &XQ, 0, 2, true, &mut u).is_err());
    }
}
