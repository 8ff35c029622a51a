//! The tanh-squashed Gaussian policy of SAC (Haarnoja et al. 2018, arXiv 1801.01290, Appendix C).
//!
//! Reparameterised sample: `u = mu + sigma eps`, `eps ~ N(0, I)`, `a = tanh(u)`. Change of
//! variables: `log pi(a|s) = sum_j [ -eps_j^2 / 2 - log sigma_j - log(2 pi) / 2 - log(1 - tanh(u_j)^2) ]`,
//! with the stable form `log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2 u))`.
//! The network's raw scale output `rho` is mapped to `log sigma = lo + (hi - lo)(tanh(rho) + 1)/2`
//! with `[lo, hi] = [-5, 2]` (a smooth clamp).
//! Gradients with `eps` held fixed: `d log pi / d u_j = 2 tanh(u_j)`, `d u / d mu = 1`,
//! `d u / d log sigma = sigma eps`, and the explicit `d log pi / d log sigma_j = -1`.

/// Lower bound of `log sigma`.
pub const LOG_STD_MIN: f64 = -5.0;
/// Upper bound of `log sigma`.
pub const LOG_STD_MAX: f64 = 2.0;

/// `log sigma` from the network's raw scale output.
#[inline]
pub fn log_std(rho: f64) -> f64 {
    LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (libm::tanh(rho) + 1.0)
}

/// `d log sigma / d rho`.
#[inline]
pub fn log_std_grad(rho: f64) -> f64 {
    let t = libm::tanh(rho);
    0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (1.0 - t * t)
}

/// `log(1 - tanh(u)^2)`, stable for large `|u|`.
#[inline]
pub fn log1m_tanh_sq(u: f64) -> f64 {
    let x = -2.0 * u;
    let softplus = if x > 0.0 {
        x + libm::log1p(libm::exp(-x))
    } else {
        libm::log1p(libm::exp(x))
    };
    2.0 * (core::f64::consts::LN_2 - u - softplus)
}

/// Samples `a = tanh(mu + exp(log_std) eps)` into `action` and returns `log pi(a|s)`.
/// All slices have the action dimension.
pub fn sample(mu: &[f64], log_std: &[f64], eps: &[f64], action: &mut [f64]) -> f64 {
    let half_ln_2pi = 0.5 * libm::log(2.0 * core::f64::consts::PI);
    let mut logp = 0.0;
    for j in 0..mu.len() {
        let u = mu[j] + libm::exp(log_std[j]) * eps[j];
        action[j] = libm::tanh(u);
        logp += -0.5 * eps[j] * eps[j] - log_std[j] - half_ln_2pi - log1m_tanh_sq(u);
    }
    logp
}

/// Backward of [`sample`] for a loss `L(a, log pi)`: given `d_a = dL/da` and `d_logp = dL/d log pi`,
/// writes `dL/d mu` and `dL/d log sigma` (with `eps` held fixed).
pub fn backward(
    log_std: &[f64],
    eps: &[f64],
    action: &[f64],
    d_a: &[f64],
    d_logp: f64,
    d_mu: &mut [f64],
    d_log_std: &mut [f64],
) {
    for j in 0..action.len() {
        let a = action[j];
        let d_u = d_a[j] * (1.0 - a * a) + d_logp * 2.0 * a;
        d_mu[j] = d_u;
        d_log_std[j] = d_u * libm::exp(log_std[j]) * eps[j] - d_logp;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prob_matches_hand_computation() {
        // mu = 0.3, sigma = 0.5, eps = 0.4: u = 0.5, a = tanh(0.5) = 0.46211715726000974.
        // log N(u; mu, sigma) = -0.08 - ln 0.5 - 0.9189385332046727 = -0.30579135264472734;
        // 1 - a^2 = 0.7864477329659274, ln = -0.24022901391655505;
        // log pi = -0.30579135264472734 + 0.24022901391655505 = -0.0655623387281723.
        let mut a = [0.0];
        let lp = sample(&[0.3], &[libm::log(0.5)], &[0.4], &mut a);
        assert!((a[0] - 0.46211715726000974).abs() < 1e-15);
        assert!((lp - -0.0655623387281723).abs() < 1e-13, "{lp}");
        // Two independent dimensions add; a large u stays finite.
        let mut a2 = [0.0; 2];
        let lp2 = sample(&[0.3, 30.0], &[libm::log(0.5), 0.0], &[0.4, 0.0], &mut a2);
        let tail = -0.9189385332046727 - 2.0 * (core::f64::consts::LN_2 - 30.0 - 0.0);
        assert!((lp2 - (lp + tail)).abs() < 1e-9, "{lp2}");
        assert!((log1m_tanh_sq(0.5) - libm::log(1.0 - libm::tanh(0.5).powi(2))).abs() < 1e-15);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (mu, ls, eps) = ([0.2, -0.7], [-0.3, 0.4], [0.9, -1.3]);
        let (wa, wl) = ([0.7, -1.1], 0.35);
        let f = |mu: &[f64], ls: &[f64]| {
            let mut a = [0.0; 2];
            let lp = sample(mu, ls, &eps, &mut a);
            wa[0] * a[0] + wa[1] * a[1] + wl * lp
        };
        let mut a = [0.0; 2];
        sample(&mu, &ls, &eps, &mut a);
        let (mut dm, mut dl) = ([0.0; 2], [0.0; 2]);
        backward(&ls, &eps, &a, &wa, wl, &mut dm, &mut dl);
        let h = 1e-6;
        for j in 0..2 {
            let (mut p, mut m) = (mu, mu);
            p[j] += h;
            m[j] -= h;
            let fd = (f(&p, &ls) - f(&m, &ls)) / (2.0 * h);
            assert!((fd - dm[j]).abs() < 1e-8 * fd.abs().max(1.0));
            let (mut p, mut m) = (ls, ls);
            p[j] += h;
            m[j] -= h;
            let fd = (f(&mu, &p) - f(&mu, &m)) / (2.0 * h);
            assert!((fd - dl[j]).abs() < 1e-8 * fd.abs().max(1.0));
        }
        let r = 0.3;
        let fd = (log_std(r + h) - log_std(r - h)) / (2.0 * h);
        assert!((fd - log_std_grad(r)).abs() < 1e-8);
    }
}
