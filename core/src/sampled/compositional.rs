//! Learning unnormalised models by stochastic compositional optimisation (SCO) of the exact
//! negative log-likelihood, and the noise-contrastive estimation (NCE) baseline.
//!
//! Paper: Jiang, Qin, Wu, Chen, Yang, Zhang, "Learning Unnormalized Statistical Models via
//! Compositional Optimization", ICML 2023, arXiv 2306.07485. NCE: Gutmann & Hyvarinen 2010/2012.
//!
//! Model `p_theta(x) = exp(f_theta(x)) / Z(theta)`, noise `q`, log-weights `w = f_theta - log q`,
//! `Z = E_q[exp(w)]`. Objective `F = -E_data f + log E_q exp(w)` (the exact NLL).
//! SCO step: `ghat = mean_j exp(w_j)`, `u_t = (1 - gamma) u_{t-1} + gamma ghat` (`u_0 = ghat`),
//! `G_t = -mean_i grad f(x_i) + (1/(B u_t)) sum_j exp(w_j) grad f(x'_j)`, `theta -= eta G_t`.
//! Computed in log space: `log ghat = logsumexp(w) - log B`,
//! `log u_t = logaddexp(log(1 - gamma) + log u_{t-1}, log gamma + log ghat)`, weights
//! `exp(w_j - log u_t)/B`. `gamma = 1` is self-normalised importance sampling.
//! NCE (`nu` = noise ratio): `G(x) = f(x) - c - log q(x) - log nu`,
//! `J = mean_i softplus(-G(x_i)) + nu mean_j softplus(G(x'_j))`,
//! `dJ/dtheta = -mean_i sigma(-G_i) grad f(x_i) + nu mean_j sigma(G_j) grad f(x'_j)`,
//! `dJ/dc = mean_i sigma(-G_i) - nu mean_j sigma(G_j)`.
//!
//! The noise must cover the model (`q > 0` where `exp f > 0`) and give the inner estimator finite
//! variance (`E_q[exp(2w)] < inf`): a noise lighter-tailed than the model makes SCO useless, and
//! that cannot be detected from samples. Cost per step: O((b + B) D) for the weighted sums of
//! per-sample gradients plus one logsumexp over `B`; no allocation (the caller owns the buffers).
//! Spec notes: `Error::EmptyBatch` / `Error::Degenerate` do not exist in the shared error type; an
//! empty batch is `InvalidParam`, all weights `-inf` is `Numerical`.

use super::bvpo::{sigmoid, softplus};
use crate::error::{check, Error, Result};

/// `log sum_j exp(x_j)` (max-shifted); `-inf` for an empty or all-`-inf` slice.
pub fn logsumexp(xs: &[f64]) -> f64 {
    let mx = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if mx == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    mx + libm::log(xs.iter().map(|&x| libm::exp(x - mx)).sum::<f64>())
}

fn logaddexp(a: f64, b: f64) -> f64 {
    let mx = a.max(b);
    if mx == f64::NEG_INFINITY {
        return mx;
    }
    mx + libm::log(libm::exp(a - mx) + libm::exp(b - mx))
}

/// The moving-average state `log u` of the inner estimator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScoState {
    /// `log u_{t-1}`; `None` before the first step (then `u_0 = ghat_0`).
    pub log_u: Option<f64>,
}

/// What one SCO gradient computation saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoReport {
    /// `log ghat_t` (the minibatch estimate of `log Z`).
    pub log_ghat: f64,
    /// `log u_t` after the update.
    pub log_u: f64,
}

/// The SCO gradient `G_t` into `out` (length `D`), updating `state`.
///
/// `data_grad_mean` = `mean_i grad f(x_i)` (length `D`); `noise_logw[j] = f(x'_j) - log q(x'_j)`;
/// `noise_grads` row-major `B x D` = `grad f(x'_j)`.
pub fn sco_gradient(
    state: &mut ScoState,
    gamma: f64,
    data_grad_mean: &[f64],
    noise_logw: &[f64],
    noise_grads: &[f64],
    out: &mut [f64],
) -> Result<ScoReport> {
    check::closed("gamma", gamma, f64::MIN_POSITIVE, 1.0, "in (0, 1]")?;
    let d = data_grad_mean.len();
    let bn = noise_logw.len();
    if bn == 0 {
        return Err(Error::invalid(
            "noise batch",
            0.0,
            "at least one noise sample",
        ));
    }
    check::nonzero("D", d)?;
    check::same_len("sco (out)", d, out.len())?;
    check::same_len("sco (noise_grads)", bn * d, noise_grads.len())?;
    check::all_finite_f64("data gradient", data_grad_mean)?;
    check::all_finite_f64("noise gradients", noise_grads)?;
    if let Some(i) = noise_logw
        .iter()
        .position(|w| w.is_nan() || *w == f64::INFINITY)
    {
        return Err(Error::NonFinite {
            what: "noise log-weights",
            index: i,
        });
    }
    let lse = logsumexp(noise_logw);
    if lse == f64::NEG_INFINITY {
        return Err(Error::Numerical(
            "sco: every noise log-weight is -inf (noise misses the model)",
        ));
    }
    let log_ghat = lse - libm::log(bn as f64);
    let log_u = match state.log_u {
        None => log_ghat,
        Some(prev) if gamma < 1.0 => {
            logaddexp(libm::log1p(-gamma) + prev, libm::log(gamma) + log_ghat)
        }
        Some(_) => log_ghat,
    };
    for (o, &g) in out.iter_mut().zip(data_grad_mean) {
        *o = -g;
    }
    let inv_b = 1.0 / bn as f64;
    for (j, &w) in noise_logw.iter().enumerate() {
        let wt = libm::exp(w - log_u) * inv_b;
        let row = &noise_grads[j * d..(j + 1) * d];
        for (o, &g) in out.iter_mut().zip(row) {
            *o += wt * g;
        }
    }
    state.log_u = Some(log_u);
    Ok(ScoReport { log_ghat, log_u })
}

/// `theta -= eta * g` with `eta > 0` (the plain SCO / NCE update).
pub fn descend(theta: &mut [f64], g: &[f64], eta: f64) -> Result<()> {
    check::positive("eta", eta)?;
    check::same_len("descend (g)", theta.len(), g.len())?;
    for (t, &v) in theta.iter_mut().zip(g) {
        *t -= eta * v;
    }
    Ok(())
}

/// NCE loss value and `dJ/dc`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NceReport {
    /// `J_NCE`.
    pub loss: f64,
    /// `dJ/dc`.
    pub dc: f64,
}

/// The NCE loss, `dJ/dtheta` into `out` (length `D`) and `dJ/dc`.
///
/// `f_data`, `logq_data` (length `b`), `f_noise`, `logq_noise` (length `B`), per-sample gradients
/// of `f` row-major (`b x D`, `B x D`), learned log-normaliser `c`, noise ratio `nu > 0`.
#[allow(clippy::too_many_arguments)]
pub fn nce_loss_and_grad(
    f_data: &[f64],
    logq_data: &[f64],
    f_noise: &[f64],
    logq_noise: &[f64],
    data_grads: &[f64],
    noise_grads: &[f64],
    c: f64,
    nu: f64,
    out: &mut [f64],
) -> Result<NceReport> {
    check::positive("nu", nu)?;
    check::finite("c", c)?;
    let (b, bn, d) = (f_data.len(), f_noise.len(), out.len());
    if b == 0 || bn == 0 {
        return Err(Error::invalid(
            "batch",
            0.0,
            "non-empty data and noise batches",
        ));
    }
    check::nonzero("D", d)?;
    check::same_len("nce (logq_data)", b, logq_data.len())?;
    check::same_len("nce (logq_noise)", bn, logq_noise.len())?;
    check::same_len("nce (data_grads)", b * d, data_grads.len())?;
    check::same_len("nce (noise_grads)", bn * d, noise_grads.len())?;
    for xs in [
        f_data,
        logq_data,
        f_noise,
        logq_noise,
        data_grads,
        noise_grads,
    ] {
        check::all_finite_f64("nce input", xs)?;
    }
    let lnu = libm::log(nu);
    out.iter_mut().for_each(|o| *o = 0.0);
    let (mut loss, mut dc) = (0.0, 0.0);
    for i in 0..b {
        let g = f_data[i] - c - logq_data[i] - lnu;
        loss += softplus(-g) / b as f64;
        let s = sigmoid(-g) / b as f64;
        dc += s;
        for (o, &v) in out.iter_mut().zip(&data_grads[i * d..(i + 1) * d]) {
            *o -= s * v;
        }
    }
    for j in 0..bn {
        let g = f_noise[j] - c - logq_noise[j] - lnu;
        loss += nu * softplus(g) / bn as f64;
        let s = nu * sigmoid(g) / bn as f64;
        dc -= s;
        for (o, &v) in out.iter_mut().zip(&noise_grads[j * d..(j + 1) * d]) {
            *o += s * v;
        }
    }
    Ok(NceReport { loss, dc })
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    const LOG_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

    fn f(x: f64, mu: f64) -> f64 {
        -(x - mu) * (x - mu) / 2.0
    }
    fn logq(x: f64) -> f64 {
        -x * x / 2.0 - LOG_SQRT_2PI
    }

    #[test]
    fn sco_step_oracle() {
        let mu = 0.5;
        let data = [1.0, 2.0];
        let noise = [-0.5, 0.3, 1.2];
        let w: [f64; 3] = core::array::from_fn(|j| f(noise[j], mu) - logq(noise[j]));
        assert!((w[0] - 0.5439385332).abs() < 1e-9);
        let gm = [data.iter().map(|x| x - mu).sum::<f64>() / 2.0];
        let grads: [f64; 3] = core::array::from_fn(|j| noise[j] - mu);
        let mut st = ScoState {
            log_u: Some(libm::log(2.5)),
        };
        let mut g = [0.0];
        let r = sco_gradient(&mut st, 0.1, &gm, &w, &grads, &mut g).unwrap();
        assert!((libm::exp(r.log_ghat) - 2.7745188213).abs() < 1e-9);
        assert!((libm::exp(r.log_u) - 2.5274518821).abs() < 1e-9);
        assert!((g[0] + 0.9228880560).abs() < 1e-9, "{g:?}");
        let mut th = [mu];
        descend(&mut th, &g, 0.1).unwrap();
        assert!((th[0] - 0.5922888056).abs() < 1e-9);
        // Log-space update equals the naive one.
        let naive_u = 0.9 * 2.5 + 0.1 * w.iter().map(|v| libm::exp(*v)).sum::<f64>() / 3.0;
        assert!((libm::exp(r.log_u) - naive_u).abs() < 1e-12);
    }

    #[test]
    fn sco_shift_invariance_and_errors() {
        let w = [0.1, -0.3, 0.7];
        let gr = [0.2, -1.0, 0.4];
        let (mut s1, mut s2) = (ScoState::default(), ScoState::default());
        let (mut g1, mut g2) = ([0.0], [0.0]);
        sco_gradient(&mut s1, 0.3, &[0.5], &w, &gr, &mut g1).unwrap();
        let w2 = w.map(|v| v + 5.0);
        sco_gradient(&mut s2, 0.3, &[0.5], &w2, &gr, &mut g2).unwrap();
        assert!((g1[0] - g2[0]).abs() < 1e-12);
        let mut s = ScoState::default();
        assert!(matches!(
            sco_gradient(&mut s, 0.0, &[0.5], &w, &gr, &mut g1),
            Err(Error::InvalidParam { name: "gamma", .. })
        ));
        assert!(sco_gradient(&mut s, 0.5, &[0.5], &[], &[], &mut g1).is_err());
        assert!(matches!(
            sco_gradient(&mut s, 0.5, &[0.5], &[0.0, f64::NAN, 0.0], &gr, &mut g1),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            sco_gradient(&mut s, 0.5, &[0.5], &[f64::NEG_INFINITY; 3], &gr, &mut g1),
            Err(Error::Numerical(_))
        ));
        assert!(descend(&mut [0.0], &[1.0], 0.0).is_err());
    }

    #[test]
    fn nce_oracle() {
        let mu = 0.5;
        let data = [1.0, 2.0];
        let noise = [-0.5, 0.3, 1.2];
        let fd = data.map(|x| f(x, mu));
        let qd = data.map(logq);
        let fnz = noise.map(|x| f(x, mu));
        let qn = noise.map(logq);
        let gd = data.map(|x| x - mu);
        let gn = noise.map(|x| x - mu);
        let mut g = [0.0];
        let r =
            nce_loss_and_grad(&fd, &qd, &fnz, &qn, &gd, &gn, LOG_SQRT_2PI, 1.0, &mut g).unwrap();
        assert!((r.loss - 1.1649298078).abs() < 1e-9, "{}", r.loss);
        assert!((g[0] + 0.3481568397).abs() < 1e-9, "{g:?}");
        assert!((r.dc + 0.1592756736).abs() < 1e-9, "{}", r.dc);
        assert!(nce_loss_and_grad(&fd, &qd, &fnz, &qn, &gd, &gn, 0.0, 0.0, &mut g).is_err());
        assert!(nce_loss_and_grad(&[], &[], &fnz, &qn, &[], &gn, 0.0, 1.0, &mut g).is_err());
    }
}
