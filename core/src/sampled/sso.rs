//! Target-based surrogates for stochastic optimisation (SSO): one expensive target-space gradient,
//! many cheap parameter steps on a surrogate.
//!
//! Paper: Lavington, Vaswani, Babanezhad, Schmidt, Le Roux, "Target-based Surrogates for Stochastic
//! Optimization", ICML 2023, arXiv 2302.02607.
//!
//! Loss `L(theta) = h(f(theta))`, `h(z) = (1/n) sum_i h_i(z_i)`, targets `z_t = f(theta_t)`,
//! `d_t = h'(z_t)` (the expensive call). Surrogate (per-example normalisation):
//! `g_t(theta) = (1/n) sum_i [h_i(z_ti) + d_ti (f_i(theta) - z_ti) + (1/(2 eta)) (f_i(theta) - z_ti)^2]`.
//! `g_t(theta_t) = L(theta_t)`, `grad g_t(theta_t) = grad L(theta_t)`, and for `eta <= 1/beta`
//! (`beta` = smoothness of `h_i`: 1 squared, 1/4 logistic) `g_t >= L` everywhere. Minimising
//! `g_t` = projecting the target step `z~ = z_t - eta d_t` onto `{f(theta)}` (projected SGD in
//! target space). Target gradient: `dg/df_i = (d_ti + (f_i - z_ti)/eta)/n`; parameter gradient =
//! `J_f^T` of it. For a linear model `f = X theta`, `L_surr = lambda_max(X^T X)/(n eta)`.
//! With a minibatch, pass only its rows (then `n = b`). The reference code's `eta_code` maps to
//! `eta = 1/(2 b eta_code)`.
//!
//! Cost: surrogate value/gradient O(n) in target space; each inner step of the linear model is two
//! mat-vecs (`4 n d` FLOPs); power iteration `iters x 4 n d`. No allocation (caller buffers).

use super::bvpo::{sigmoid, softplus};
use crate::error::{check, Error, Result};

/// A per-example loss in target space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetLoss {
    /// `h(z) = (z - y)^2 / 2` (smoothness 1).
    Squared,
    /// `h(z) = log(1 + exp(-y z))`, `y in {-1, +1}` (smoothness 1/4).
    Logistic,
}

impl TargetLoss {
    /// `h(z; y)`.
    pub fn value(self, z: f64, y: f64) -> f64 {
        match self {
            TargetLoss::Squared => 0.5 * (z - y) * (z - y),
            TargetLoss::Logistic => softplus(-y * z),
        }
    }
    /// `h'(z; y)`.
    pub fn deriv(self, z: f64, y: f64) -> f64 {
        match self {
            TargetLoss::Squared => z - y,
            TargetLoss::Logistic => -y * sigmoid(-y * z),
        }
    }
    /// Smoothness constant `beta` of `h` (so `eta = 1/beta` makes the surrogate a majoriser).
    pub fn smoothness(self) -> f64 {
        match self {
            TargetLoss::Squared => 1.0,
            TargetLoss::Logistic => 0.25,
        }
    }
    /// Mean loss `(1/n) sum h(z_i; y_i)` and derivatives into `dz` (the expensive call).
    pub fn mean_and_derivs(self, z: &[f64], y: &[f64], dz: &mut [f64]) -> Result<f64> {
        check::nonzero("batch", z.len())?;
        check::same_len("target loss (y)", z.len(), y.len())?;
        check::same_len("target loss (dz)", z.len(), dz.len())?;
        check::all_finite_f64("targets", z)?;
        check::all_finite_f64("labels", y)?;
        let mut s = 0.0;
        for ((d, &zi), &yi) in dz.iter_mut().zip(z).zip(y) {
            s += self.value(zi, yi);
            *d = self.deriv(zi, yi);
        }
        Ok(s / z.len() as f64)
    }
}

fn check_surrogate(h_t: f64, z_t: &[f64], d_t: &[f64], f: &[f64], eta: f64) -> Result<()> {
    check::positive("eta", eta)?;
    check::finite("h_t", h_t)?;
    check::nonzero("batch", z_t.len())?;
    check::same_len("surrogate (d_t)", z_t.len(), d_t.len())?;
    check::same_len("surrogate (f)", z_t.len(), f.len())?;
    check::all_finite_f64("z_t", z_t)?;
    check::all_finite_f64("loss derivative", d_t)?;
    check::all_finite_f64("model outputs", f)
}

/// The surrogate value `g_t(theta)` from `h_t = h(z_t)`, `z_t`, `d_t = h'(z_t)` and `f = f(theta)`.
pub fn surrogate_value(h_t: f64, z_t: &[f64], d_t: &[f64], f: &[f64], eta: f64) -> Result<f64> {
    check_surrogate(h_t, z_t, d_t, f, eta)?;
    let n = z_t.len() as f64;
    let s: f64 = (0..z_t.len())
        .map(|i| {
            let r = f[i] - z_t[i];
            d_t[i] * r + r * r / (2.0 * eta)
        })
        .sum();
    Ok(h_t + s / n)
}

/// The surrogate's gradient w.r.t. the model outputs: `out_i = (d_ti + (f_i - z_ti)/eta)/n`.
pub fn surrogate_target_grad(
    z_t: &[f64],
    d_t: &[f64],
    f: &[f64],
    eta: f64,
    out: &mut [f64],
) -> Result<()> {
    check_surrogate(0.0, z_t, d_t, f, eta)?;
    check::same_len("surrogate grad (out)", z_t.len(), out.len())?;
    let n = z_t.len() as f64;
    for i in 0..z_t.len() {
        out[i] = (d_t[i] + (f[i] - z_t[i]) / eta) / n;
    }
    Ok(())
}

/// `out = X theta` for row-major `X` (`n x d`).
pub fn linear_forward(x: &[f64], d: usize, theta: &[f64], out: &mut [f64]) -> Result<()> {
    check::nonzero("d", d)?;
    check::same_len("linear forward (theta)", d, theta.len())?;
    check::same_len("linear forward (x)", out.len() * d, x.len())?;
    for (o, row) in out.iter_mut().zip(x.chunks_exact(d)) {
        *o = row.iter().zip(theta).map(|(a, b)| a * b).sum();
    }
    Ok(())
}

/// `out = X^T v` for row-major `X` (`n x d`).
pub fn linear_vjp(x: &[f64], d: usize, v: &[f64], out: &mut [f64]) -> Result<()> {
    check::same_len("linear vjp (out)", d, out.len())?;
    check::same_len("linear vjp (x)", v.len() * d, x.len())?;
    out.iter_mut().for_each(|o| *o = 0.0);
    for (&vi, row) in v.iter().zip(x.chunks_exact(d)) {
        for (o, &a) in out.iter_mut().zip(row) {
            *o += vi * a;
        }
    }
    Ok(())
}

/// `lambda_max(X^T X)` by `iters` power iterations from the all-ones vector (`v`: length `d`,
/// `tmp`: length `n`, scratch).
pub fn lambda_max_xtx(
    x: &[f64],
    d: usize,
    iters: usize,
    v: &mut [f64],
    tmp: &mut [f64],
) -> Result<f64> {
    check::nonzero("iters", iters)?;
    v.iter_mut().for_each(|e| *e = 1.0);
    let mut lam = 0.0;
    for _ in 0..iters {
        let nv = libm::sqrt(v.iter().map(|e| e * e).sum::<f64>());
        if nv == 0.0 {
            return Ok(0.0);
        }
        v.iter_mut().for_each(|e| *e /= nv);
        linear_forward(x, d, v, tmp)?;
        lam = tmp.iter().map(|e| e * e).sum::<f64>();
        // v <- X^T X v (written into v through tmp).
        let xv: &[f64] = tmp;
        let mut acc_norm = 0.0;
        for j in 0..d {
            let s: f64 = xv
                .iter()
                .zip(x.chunks_exact(d))
                .map(|(a, row)| a * row[j])
                .sum();
            v[j] = s;
            acc_norm += s * s;
        }
        if acc_norm == 0.0 {
            return Ok(0.0);
        }
    }
    Ok(lam)
}

/// What the inner loop of a linear-model SSO step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InnerReport {
    /// Surrogate at the start (`= L(theta_t)`).
    pub start: f64,
    /// Surrogate at the end.
    pub end: f64,
    /// Whether some inner step increased the surrogate (then the best iterate is kept).
    pub increased: bool,
}

/// `m` GD steps of size `step` on the surrogate of a linear model `f = X theta`, from `theta`
/// (updated in place). `h_t`, `z_t`, `d_t` from the expensive call at the starting `theta`.
/// Scratch: `f_buf`, `r_buf` (length `n`), `grad`, `best` (length `d`).
#[allow(clippy::too_many_arguments)]
pub fn linear_inner_gd(
    x: &[f64],
    d: usize,
    h_t: f64,
    z_t: &[f64],
    d_t: &[f64],
    eta: f64,
    m: usize,
    step: f64,
    theta: &mut [f64],
    f_buf: &mut [f64],
    r_buf: &mut [f64],
    grad: &mut [f64],
    best: &mut [f64],
) -> Result<InnerReport> {
    check::nonzero("m", m)?;
    check::positive("step", step)?;
    check::same_len("inner gd (best)", d, best.len())?;
    linear_forward(x, d, theta, f_buf)?;
    let start = surrogate_value(h_t, z_t, d_t, f_buf, eta)?;
    let (mut cur, mut best_val, mut increased) = (start, start, false);
    best.copy_from_slice(theta);
    for _ in 0..m {
        surrogate_target_grad(z_t, d_t, f_buf, eta, r_buf)?;
        linear_vjp(x, d, r_buf, grad)?;
        for (t, &g) in theta.iter_mut().zip(grad.iter()) {
            *t -= step * g;
        }
        linear_forward(x, d, theta, f_buf)?;
        let v = surrogate_value(h_t, z_t, d_t, f_buf, eta)?;
        if v > cur {
            increased = true;
        }
        cur = v;
        if v <= best_val {
            best_val = v;
            best.copy_from_slice(theta);
        }
    }
    if increased {
        theta.copy_from_slice(best);
    }
    if !best_val.is_finite() {
        return Err(Error::Numerical("sso inner loop diverged"));
    }
    Ok(InnerReport {
        start,
        end: best_val,
        increased,
    })
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    const X: [f64; 6] = [1.0, 0.0, 0.0, 2.0, 1.0, 1.0];

    fn close(a: f64, b: f64, t: f64) {
        assert!((a - b).abs() <= t, "{a} vs {b}");
    }

    #[test]
    fn squared_loss_oracles() {
        let y = [1.0, -1.0, 2.0];
        let th = [0.5, 0.5];
        let mut z = [0.0; 3];
        linear_forward(&X, 2, &th, &mut z).unwrap();
        assert_eq!(z, [0.5, 1.0, 1.0]);
        let mut dz = [0.0; 3];
        let l = TargetLoss::Squared
            .mean_and_derivs(&z, &y, &mut dz)
            .unwrap();
        close(l, 0.875, 1e-15);
        assert_eq!(dz, [-0.5, 2.0, -1.0]);
        let mut g = [0.0; 2];
        linear_vjp(&X, 2, &dz.map(|v| v / 3.0), &mut g).unwrap();
        close(g[0], -0.5, 1e-15);
        close(g[1], 1.0, 1e-15);
        close(surrogate_value(l, &z, &dz, &z, 0.5).unwrap(), 0.875, 1e-15);
        // Probe [1, -0.5]: g_t = 1.125 >= L = 0.375.
        let mut f = [0.0; 3];
        linear_forward(&X, 2, &[1.0, -0.5], &mut f).unwrap();
        close(surrogate_value(l, &z, &dz, &f, 0.5).unwrap(), 1.125, 1e-12);
        let mut d2 = [0.0; 3];
        close(
            TargetLoss::Squared
                .mean_and_derivs(&f, &y, &mut d2)
                .unwrap(),
            0.375,
            1e-12,
        );
        // Exact minimiser theta* = [13/12, 1/12]: g_t = 0.5208333.
        linear_forward(&X, 2, &[13.0 / 12.0, 1.0 / 12.0], &mut f).unwrap();
        close(
            surrogate_value(l, &z, &dz, &f, 0.5).unwrap(),
            0.5208333333,
            1e-9,
        );
        // One inner step with 1/L_surr.
        let (mut v, mut tmp) = ([0.0; 2], [0.0; 3]);
        let lam = lambda_max_xtx(&X, 2, 200, &mut v, &mut tmp).unwrap();
        let l_surr = lam / 3.0 / 0.5;
        close(l_surr, 3.5351837585, 1e-9);
        let mut th1 = th;
        let (mut fb, mut rb, mut gr, mut bs) = ([0.0; 3], [0.0; 3], [0.0; 2], [0.0; 2]);
        let rep = linear_inner_gd(
            &X,
            2,
            l,
            &z,
            &dz,
            0.5,
            1,
            1.0 / l_surr,
            &mut th1,
            &mut fb,
            &mut rb,
            &mut gr,
            &mut bs,
        )
        .unwrap();
        close(th1[0], 0.6414354, 1e-6);
        close(th1[1], 0.2171293, 1e-6);
        close(rep.end, 0.6414354, 1e-6);
        close(rep.start, 0.875, 1e-15);
    }

    #[test]
    fn logistic_oracle_and_first_order_agreement() {
        let y = [1.0, -1.0, 1.0];
        let z = [0.5, 1.0, 1.0];
        let mut dz = [0.0; 3];
        let l = TargetLoss::Logistic
            .mean_and_derivs(&z, &y, &mut dz)
            .unwrap();
        close(l, 0.7002001197, 1e-9);
        close(dz[0], -0.3775407, 1e-7);
        close(dz[1], 0.7310586, 1e-7);
        close(dz[2], -0.2689414, 1e-7);
        // grad of surrogate at theta_t equals grad L (finite differences of L).
        let th = [0.5, 0.5];
        let mut r = [0.0; 3];
        surrogate_target_grad(&z, &dz, &z, 4.0, &mut r).unwrap();
        let mut g = [0.0; 2];
        linear_vjp(&X, 2, &r, &mut g).unwrap();
        let loss = |t: [f64; 2]| {
            let mut f = [0.0; 3];
            linear_forward(&X, 2, &t, &mut f).unwrap();
            let mut d = [0.0; 3];
            TargetLoss::Logistic
                .mean_and_derivs(&f, &y, &mut d)
                .unwrap()
        };
        for j in 0..2 {
            let mut a = th;
            let mut b = th;
            a[j] += 1e-6;
            b[j] -= 1e-6;
            close(g[j], (loss(a) - loss(b)) / 2e-6, 1e-8);
        }
    }

    #[test]
    fn errors() {
        assert!(surrogate_value(0.0, &[1.0], &[0.0], &[1.0], 0.0).is_err());
        assert!(surrogate_value(0.0, &[], &[], &[], 1.0).is_err());
        assert!(matches!(
            surrogate_value(0.0, &[1.0], &[f64::NAN], &[1.0], 1.0),
            Err(Error::NonFinite { .. })
        ));
        let (mut fb, mut rb, mut gr, mut bs) = ([0.0; 3], [0.0; 3], [0.0; 2], [0.0; 2]);
        let mut th = [0.0; 2];
        assert!(matches!(
            linear_inner_gd(
                &X, 2, 0.0, &[0.0; 3], &[0.0; 3], 1.0, 0, 0.1, &mut th, &mut fb, &mut rb, &mut gr,
                &mut bs
            ),
            Err(Error::InvalidParam { name: "m", .. })
        ));
        assert!(linear_forward(&X, 2, &[1.0], &mut fb).is_err());
    }
}
