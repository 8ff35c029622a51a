//! Gradient-descent in-context predictors: one step (scalar or matrix step size), k steps, and the
//! closed-form optimal step of a one-layer linear self-attention.
//!
//! Mahankali et al. 2023, "One Step of Gradient Descent is Provably the Optimal In-Context Learner
//! with One Layer of Linear Self-Attention" (arXiv 2307.03576); Akyürek et al. 2022 (arXiv
//! 2211.15661) for the k-step baseline.
//!
//! In-context loss `L(w) = (1/2n) ||X w - y||^2`. From `w_0 = 0` one step with matrix step `Gamma`
//! gives `w_1 = Gamma h`, `h = X^T y / n`, and predicts `y_hat = x_q^T Gamma h`. k steps:
//! `w_{t+1} = w_t - (eta/n) X^T (X w_t - y)`.
//!
//! Optimal matrix step over all one-layer LSA parameters, for `x ~ N(0, Sigma)`,
//! `w ~ N(0, Sigma_w)`, label noise `sigma^2` (derived in spec 01 from
//! `Gamma* = E[w h^T] E[h h^T]^{-1}` and the Gaussian identity
//! `E[x x^T A x x^T] = Sigma (A + A^T) Sigma + tr(A Sigma) Sigma`):
//! `Gamma* = Sigma_w Sigma [((n+1)/n) Sigma Sigma_w Sigma + ((tr(Sigma Sigma_w) + sigma^2)/n) Sigma]^{-1}`.
//! Isotropic: `eta* = n / (n + d + 1 + sigma^2)` with risk
//! `R* = d (1 + d + sigma^2) / (n + 1 + d + sigma^2) + sigma^2`. With `Sigma_w = Sigma^{-1}`:
//! `Gamma* = eta* Sigma^{-1}`.
//!
//! Costs: one step `O(n d + d^2)`, k steps `O(k n d)`, `Gamma*` `O(d^3)` once (a Cholesky solve).

use crate::error::{check, Error, Result};
use crate::icl::chol::{cholesky_in_place, cholesky_solve_in_place};

fn check_task(x: &[f64], y: &[f64], xq: &[f64], n: usize, d: usize) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("x_q", d, xq.len())
}

/// `h = X^T y / n` (minus the in-context gradient at `w = 0`). `x` is `n x d` row-major.
pub fn context_moment(x: &[f64], y: &[f64], n: usize, d: usize, h: &mut [f64]) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("h", d, h.len())?;
    h.fill(0.0);
    for (xi, &yi) in x.chunks_exact(d).zip(y) {
        crate::linalg::axpy(yi, xi, h);
    }
    h.iter_mut().for_each(|v| *v /= n as f64);
    Ok(())
}

/// One GD step with scalar step `eta`: `y_hat = eta x_q · (X^T y / n)`. No allocation.
pub fn one_step_gd_predict(
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    eta: f64,
) -> Result<f64> {
    check_task(x, y, xq, n, d)?;
    check::finite("eta", eta)?;
    let s: f64 = x
        .chunks_exact(d)
        .zip(y)
        .map(|(xi, &yi)| yi * crate::linalg::dot(xi, xq))
        .sum();
    Ok(eta * s / n as f64)
}

/// One preconditioned GD step: `y_hat = x_q^T Gamma h` with `Gamma` `d x d` row-major; `h` is
/// scratch of length `d` (it holds `X^T y / n` on return).
pub fn preconditioned_gd_predict(
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    gamma: &[f64],
    h: &mut [f64],
) -> Result<f64> {
    check_task(x, y, xq, n, d)?;
    check::same_len("gamma (d*d)", d * d, gamma.len())?;
    context_moment(x, y, n, d, h)?;
    Ok(gamma
        .chunks_exact(d)
        .zip(xq)
        .map(|(row, &q)| q * crate::linalg::dot(row, h))
        .sum())
}

/// `k` full-batch GD steps from `w = 0` with step `eta` on `(1/2n)||Xw - y||^2`, into `w` (length
/// `d`); `r` is scratch of length `n`. `k = 0` leaves `w = 0`. Cost `O(k n d)`.
#[allow(clippy::too_many_arguments)]
pub fn gd_steps_weights(
    x: &[f64],
    y: &[f64],
    n: usize,
    d: usize,
    eta: f64,
    k: usize,
    w: &mut [f64],
    r: &mut [f64],
) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("w", d, w.len())?;
    check::same_len("scratch r", n, r.len())?;
    check::finite("eta", eta)?;
    w.fill(0.0);
    let scale = eta / n as f64;
    for _ in 0..k {
        for ((ri, xi), &yi) in r.iter_mut().zip(x.chunks_exact(d)).zip(y) {
            *ri = crate::linalg::dot(xi, w) - yi;
        }
        for (xi, &ri) in x.chunks_exact(d).zip(r.iter()) {
            crate::linalg::axpy(-scale * ri, xi, w);
        }
    }
    if w.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::Numerical("GD diverged (step too large for this X)"))
    }
}

/// The optimal scalar step for isotropic Gaussian tasks: `eta* = n / (n + d + 1 + sigma^2)`.
pub fn optimal_eta(n: usize, d: usize, sigma2: f64) -> Result<f64> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::non_negative("sigma2", sigma2)?;
    Ok(n as f64 / (n as f64 + d as f64 + 1.0 + sigma2))
}

/// Risk (expected squared error on a noisy query) of one GD step with step `eta`, isotropic tasks:
/// `R(eta) = d eta^2 (n + 1 + d + sigma^2)/n - 2 d eta + d + sigma^2`.
pub fn one_step_risk(n: usize, d: usize, sigma2: f64, eta: f64) -> Result<f64> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::non_negative("sigma2", sigma2)?;
    check::finite("eta", eta)?;
    let (n, d) = (n as f64, d as f64);
    Ok(d * eta * eta * (n + 1.0 + d + sigma2) / n - 2.0 * d * eta + d + sigma2)
}

/// The optimal risk `R* = d (1 + d + sigma^2)/(n + 1 + d + sigma^2) + sigma^2`.
pub fn optimal_risk(n: usize, d: usize, sigma2: f64) -> Result<f64> {
    let eta = optimal_eta(n, d, sigma2)?;
    one_step_risk(n, d, sigma2, eta)
}

/// The optimal matrix step `Gamma*` (see the module docs) for input covariance `sigma_x` and task
/// covariance `sigma_w` (both `d x d`, symmetric positive definite). Writes `Gamma*` (row-major,
/// so that `w_1 = Gamma* h`) into `out`; `ws` is scratch of length `2 d^2`. No allocation.
///
/// Errors: `n = 0`, `d = 0`, `sigma2 < 0` -> `InvalidParam`; a singular or indefinite covariance
/// -> `InvalidParam` named `"covariance"`.
pub fn optimal_gamma(
    sigma_x: &[f64],
    sigma_w: &[f64],
    d: usize,
    n: usize,
    sigma2: f64,
    out: &mut [f64],
    ws: &mut [f64],
) -> Result<()> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::non_negative("sigma2", sigma2)?;
    let dd = d * d;
    check::same_len("sigma_x", dd, sigma_x.len())?;
    check::same_len("sigma_w", dd, sigma_w.len())?;
    check::same_len("gamma out", dd, out.len())?;
    check::same_len("scratch", 2 * dd, ws.len())?;
    check::all_finite_f64("sigma_x", sigma_x)?;
    check::all_finite_f64("sigma_w", sigma_w)?;
    // Both covariances must be SPD: factorise copies to check.
    let (a, b) = ws.split_at_mut(dd);
    a.copy_from_slice(sigma_x);
    cholesky_in_place(a, d, "covariance")?;
    a.copy_from_slice(sigma_w);
    cholesky_in_place(a, d, "covariance")?;
    // b = Sigma Sigma_w; tr = tr(b).
    let mm = |p: &[f64], q: &[f64], i: usize, j: usize| {
        (0..d).map(|k| p[i * d + k] * q[k * d + j]).sum::<f64>()
    };
    for i in 0..d {
        for j in 0..d {
            b[i * d + j] = mm(sigma_x, sigma_w, i, j);
        }
    }
    let tr: f64 = (0..d).map(|i| b[i * d + i]).sum();
    let (nf, c) = (n as f64, (tr + sigma2) / n as f64);
    // a = ((n+1)/n) (Sigma Sigma_w) Sigma + c Sigma.
    for i in 0..d {
        for j in 0..d {
            a[i * d + j] = (nf + 1.0) / nf * mm(b, sigma_x, i, j) + c * sigma_x[i * d + j];
        }
    }
    // Symmetrise against rounding, factorise, and solve a Gamma^T = (Sigma Sigma_w) column by column:
    // Gamma = Sigma_w Sigma a^{-1}  <=>  Gamma^T = a^{-1} Sigma Sigma_w.
    for i in 0..d {
        for j in 0..i {
            let m = 0.5 * (a[i * d + j] + a[j * d + i]);
            a[i * d + j] = m;
            a[j * d + i] = m;
        }
    }
    cholesky_in_place(a, d, "covariance")?;
    for j in 0..d {
        // Column j of Sigma Sigma_w -> column j of Gamma^T = row j of Gamma.
        let row = &mut out[j * d..(j + 1) * d];
        for (k, r) in row.iter_mut().enumerate() {
            *r = b[k * d + j];
        }
        cholesky_solve_in_place(a, d, row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Spec 01 worked example: d = 2, n = 3.
    const X: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    const Y: [f64; 3] = [1.0, 2.0, 2.0];
    const XQ: [f64; 2] = [1.0, 2.0];

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn one_step_oracles() {
        assert!(close(
            one_step_gd_predict(&X, &Y, &XQ, 3, 2, 1.0).unwrap(),
            11.0 / 3.0,
            1e-14
        ));
        let eta = optimal_eta(3, 2, 0.0).unwrap();
        assert_eq!(eta, 0.5);
        assert!(close(
            one_step_gd_predict(&X, &Y, &XQ, 3, 2, eta).unwrap(),
            1.833333333333333,
            1e-12
        ));
        let eta = optimal_eta(3, 2, 0.5).unwrap();
        assert!(close(eta, 0.461538461538, 1e-11));
        assert!(close(
            one_step_gd_predict(&X, &Y, &XQ, 3, 2, eta).unwrap(),
            1.692307692307,
            1e-11
        ));
        let mut h = [0.0; 2];
        let y =
            preconditioned_gd_predict(&X, &Y, &XQ, 3, 2, &[1.0, 0.0, 0.0, 2.0], &mut h).unwrap();
        assert!(close(y, 6.333333333333333, 1e-12));
        assert!(close(h[0], 1.0, 1e-15) && close(h[1], 4.0 / 3.0, 1e-15));
    }

    #[test]
    fn scalar_steps_and_risks() {
        for (s2, want) in [(0.0, 0.769231), (0.25, 0.761905), (1.0, 0.740741)] {
            assert!(close(optimal_eta(20, 5, s2).unwrap(), want, 5e-7));
        }
        assert!(close(optimal_eta(10, 10, 0.0).unwrap(), 0.476190, 5e-7));
        assert!(close(optimal_risk(20, 5, 0.0).unwrap(), 30.0 / 26.0, 1e-12));
        assert!(close(optimal_risk(20, 5, 0.25).unwrap(), 1.440476, 5e-7));
        // eta* minimises the quadratic risk.
        let r = optimal_risk(20, 5, 0.25).unwrap();
        for e in [0.7, 0.75, 0.77, 0.8] {
            assert!(one_step_risk(20, 5, 0.25, e).unwrap() > r);
        }
    }

    #[test]
    fn k_step_oracles() {
        let (mut w, mut r) = ([0.0; 2], [0.0; 3]);
        for (k, want) in [
            (1, [0.5, 0.666667, 1.833333]),
            (2, [0.722222, 1.027778, 2.777778]),
            (3, [0.810185, 1.231481, 3.273148]),
        ] {
            gd_steps_weights(&X, &Y, 3, 2, 0.5, k, &mut w, &mut r).unwrap();
            let yq = crate::linalg::dot(&w, &XQ);
            assert!(
                close(w[0], want[0], 5e-7)
                    && close(w[1], want[1], 5e-7)
                    && close(yq, want[2], 5e-7),
                "k={k}"
            );
        }
        gd_steps_weights(&X, &Y, 3, 2, 0.5, 5000, &mut w, &mut r).unwrap();
        assert!(close(crate::linalg::dot(&w, &XQ), 4.0, 1e-9));
        assert!(matches!(
            gd_steps_weights(&X, &Y, 3, 2, 50.0, 5000, &mut w, &mut r),
            Err(Error::Numerical(_))
        ));
    }

    #[test]
    fn optimal_gamma_oracles() {
        let (mut g, mut ws) = ([0.0; 4], [0.0; 8]);
        // Sigma = diag(2, 0.5), w ~ N(0, Sigma^{-1}), n = 3, sigma = 0 -> diag(0.25, 1).
        optimal_gamma(
            &[2.0, 0.0, 0.0, 0.5],
            &[0.5, 0.0, 0.0, 2.0],
            2,
            3,
            0.0,
            &mut g,
            &mut ws,
        )
        .unwrap();
        for (a, b) in g.iter().zip([0.25, 0.0, 0.0, 1.0]) {
            assert!(close(*a, b, 1e-14), "{g:?}");
        }
        let mut h = [0.0; 2];
        let y = preconditioned_gd_predict(&X, &Y, &XQ, 3, 2, &g, &mut h).unwrap();
        assert!(close(y, 2.916666666666667, 1e-12));
        // Same Sigma, w ~ N(0, I): 3 [4 Sigma + 2.5 I]^{-1} = diag(0.285714, 0.666667).
        optimal_gamma(
            &[2.0, 0.0, 0.0, 0.5],
            &[1.0, 0.0, 0.0, 1.0],
            2,
            3,
            0.0,
            &mut g,
            &mut ws,
        )
        .unwrap();
        assert!(close(g[0], 3.0 / 10.5, 1e-14) && close(g[3], 3.0 / 4.5, 1e-14) && g[1] == 0.0);
        // Isotropic reduces to eta* I.
        let (mut g, mut ws) = ([0.0; 9], [0.0; 18]);
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        optimal_gamma(&id, &id, 3, 20, 0.25, &mut g, &mut ws).unwrap();
        let eta = optimal_eta(20, 3, 0.25).unwrap();
        for i in 0..3 {
            assert!(close(g[i * 3 + i], eta, 1e-14));
        }
        // Non-diagonal Sigma with Sigma_w = Sigma^{-1}: Gamma* = eta* Sigma^{-1}.
        let s = [2.0, 0.5, 0.5, 1.0];
        let det = 2.0 - 0.25;
        let inv = [1.0 / det, -0.5 / det, -0.5 / det, 2.0 / det];
        let (mut g, mut ws) = ([0.0; 4], [0.0; 8]);
        optimal_gamma(&s, &inv, 2, 7, 0.3, &mut g, &mut ws).unwrap();
        let eta = optimal_eta(7, 2, 0.3).unwrap();
        for (a, b) in g.iter().zip(inv) {
            assert!(close(*a, eta * b, 1e-13), "{g:?}");
        }
    }

    #[test]
    fn bad_input_is_typed() {
        let (mut g, mut ws) = ([0.0; 4], [0.0; 8]);
        let singular = [1.0, 1.0, 1.0, 1.0];
        assert!(matches!(
            optimal_gamma(&singular, &singular, 2, 3, 0.0, &mut g, &mut ws),
            Err(Error::InvalidParam {
                name: "covariance",
                ..
            })
        ));
        let id = [1.0, 0.0, 0.0, 1.0];
        assert!(matches!(
            optimal_gamma(&id, &id, 2, 0, 0.0, &mut g, &mut ws),
            Err(Error::InvalidParam { name: "n", .. })
        ));
        assert!(matches!(
            optimal_eta(3, 0, 0.0),
            Err(Error::InvalidParam { name: "d", .. })
        ));
        assert!(matches!(
            optimal_eta(3, 2, -1.0),
            Err(Error::InvalidParam { name: "sigma2", .. })
        ));
        assert!(matches!(
            one_step_gd_predict(&[], &[], &XQ, 0, 2, 0.5),
            Err(Error::InvalidParam { name: "n", .. })
        ));
        assert!(matches!(
            one_step_gd_predict(&X, &Y[..2], &XQ, 3, 2, 0.5),
            Err(Error::ShapeMismatch { .. })
        ));
        // y = 0 gives 0: valid.
        assert_eq!(
            one_step_gd_predict(&X, &[0.0; 3], &XQ, 3, 2, 0.5).unwrap(),
            0.0
        );
    }
}
