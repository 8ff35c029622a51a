//! Ambient denoising score matching (EDM / variance-exploding parametrisation): train on data at
//! noise level `sigma_n` only for diffusion levels `sigma >= sigma_n`.
//!
//! Paper: Daras, Cherapanamjeri & Daskalakis, "How much is a noisy image worth? Data Scaling Laws
//! for Ambient Diffusion" (ICLR 2025, arXiv 2411.02780); code giannisdaras/ambient-laws
//! `training/loss.py` and ambient_utils `from_x0_pred_to_xnature_pred_ve_to_ve`; spec 17 part A.
//! Per item `(y = x0 + sigma_n z, sigma_n)`:
//! 1. `ln sigma ~ N(P_mean, P_std^2)` (`-1.2`, `1.2`), `sigma <- max(sigma, sigma_n)`;
//! 2. `x_t = y + sqrt(sigma^2 - sigma_n^2) n`;
//! 3. the network predicts `x0_hat = D(x_t, sigma)`;
//! 4. `D_n = (1 - sigma_n^2/sigma^2) x0_hat + (sigma_n^2/sigma^2) x_t` (= `E[y | x_t]` when
//!    `x0_hat = E[x0 | x_t]`, Tweedie applied twice);
//! 5. loss `lambda(sigma) |D_n - y|^2`, `lambda = (sigma^2 + sigma_data^2)/(sigma sigma_data)^2`,
//!    `sigma_data = 0.5`; gradient w.r.t. `x0_hat`: `2 lambda (1 - sigma_n^2/sigma^2)(D_n - y)`.
//!
//! Clean items (`sigma_n = 0`) reduce to the EDM loss. Cost O(d) per item; no allocation.

use crate::error::{check, Error, Result};

/// EDM's `P_mean`.
pub const P_MEAN: f64 = -1.2;
/// EDM's `P_std`.
pub const P_STD: f64 = 1.2;
/// EDM's `sigma_data`.
pub const SIGMA_DATA: f64 = 0.5;

/// The diffusion level for a standard-normal draw `rnd`: `max(exp(P_mean + P_std rnd), sigma_n)`.
pub fn sample_sigma(rnd: f64, sigma_n: f64) -> Result<f64> {
    check::finite("rnd", rnd)?;
    check::non_negative("sigma_n", sigma_n)?;
    Ok(libm::exp(P_MEAN + P_STD * rnd).max(sigma_n))
}

/// `x_t = y + sqrt(sigma^2 - sigma_n^2) n` (elementwise); `sigma >= sigma_n >= 0`, `sigma > 0`.
pub fn add_noise_to_level(
    y: &[f64],
    n: &[f64],
    sigma: f64,
    sigma_n: f64,
    out: &mut [f64],
) -> Result<()> {
    check_levels(sigma, sigma_n)?;
    check::same_len("add_noise n", y.len(), n.len())?;
    check::same_len("add_noise out", y.len(), out.len())?;
    let s = libm::sqrt(sigma * sigma - sigma_n * sigma_n);
    for ((o, &yi), &ni) in out.iter_mut().zip(y).zip(n) {
        *o = yi + s * ni;
    }
    Ok(())
}

fn check_levels(sigma: f64, sigma_n: f64) -> Result<()> {
    check::positive("sigma", sigma)?;
    check::non_negative("sigma_n", sigma_n)?;
    if sigma < sigma_n {
        return Err(Error::invalid(
            "sigma",
            sigma,
            ">= sigma_n (train only at or above the data noise)",
        ));
    }
    Ok(())
}

/// `D_n = (1 - sigma_n^2/sigma^2) x0_hat + (sigma_n^2/sigma^2) x_t`.
pub fn x0_to_xn(x0_hat: f64, x_t: f64, sigma: f64, sigma_n: f64) -> Result<f64> {
    check_levels(sigma, sigma_n)?;
    let r = sigma_n * sigma_n / (sigma * sigma);
    Ok((1.0 - r) * x0_hat + r * x_t)
}

/// EDM weight `lambda(sigma) = (sigma^2 + sigma_data^2)/(sigma sigma_data)^2`.
pub fn edm_weight(sigma: f64) -> Result<f64> {
    check::positive("sigma", sigma)?;
    let sd2 = SIGMA_DATA * SIGMA_DATA;
    Ok((sigma * sigma + sd2) / (sigma * sigma * sd2))
}

/// Per-item ambient loss `lambda(sigma) sum_j (D_n,j - y_j)^2` and its gradient w.r.t. `x0_hat`.
pub fn ambient_loss(
    x0_hat: &[f64],
    x_t: &[f64],
    y: &[f64],
    sigma: f64,
    sigma_n: f64,
    grad: &mut [f64],
) -> Result<f64> {
    check_levels(sigma, sigma_n)?;
    check::same_len("ambient x_t", x0_hat.len(), x_t.len())?;
    check::same_len("ambient y", x0_hat.len(), y.len())?;
    check::same_len("ambient grad", x0_hat.len(), grad.len())?;
    let lam = edm_weight(sigma)?;
    let r = sigma_n * sigma_n / (sigma * sigma);
    let mut loss = 0.0;
    for (((g, &f), &xt), &yy) in grad.iter_mut().zip(x0_hat).zip(x_t).zip(y) {
        let dn = (1.0 - r) * f + r * xt;
        loss += (dn - yy) * (dn - yy);
        *g = 2.0 * lam * (1.0 - r) * (dn - yy);
    }
    Ok(lam * loss)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn golden_cases() {
        assert!((x0_to_xn(0.3, 1.2, 0.5, 0.2).unwrap() - 0.444).abs() < 1e-15);
        assert!((edm_weight(0.5).unwrap() - 8.0).abs() < 1e-15);
        let mut g = [0.0];
        let l = ambient_loss(&[0.9], &[1.2], &[1.1], 0.5, 0.2, &mut g).unwrap();
        assert!((l - 0.184832).abs() < 1e-12);
        assert!((sample_sigma(0.0, 0.0).unwrap() - 0.3011942119).abs() < 1e-10);
        assert_eq!(sample_sigma(0.0, 0.4).unwrap(), 0.4);
        assert!((sample_sigma(1.0, 0.0).unwrap() - 1.0).abs() < 1e-15);
        let mut o = [0.0];
        add_noise_to_level(&[0.7], &[3.0], 0.4, 0.4, &mut o).unwrap();
        assert_eq!(o[0], 0.7);
        // Double Tweedie (tau = 1, m = 0, sigma = 0.5, sigma_n = 0.2, x_t = 1.2).
        let x0: f64 = 1.0 / 1.25 * 1.2;
        assert!((x0 - 0.96).abs() < 1e-15);
        let dn = x0_to_xn(x0, 1.2, 0.5, 0.2).unwrap();
        assert!((dn - 0.9984).abs() < 1e-12 && (dn - 1.04 / 1.25 * 1.2).abs() < 1e-12);
    }

    #[test]
    fn clean_items_and_errors() {
        assert_eq!(x0_to_xn(0.3, 1.2, 0.5, 0.0).unwrap(), 0.3);
        let mut g = [0.0];
        assert!(matches!(
            x0_to_xn(0.3, 1.2, 0.1, 0.2),
            Err(Error::InvalidParam { name: "sigma", .. })
        ));
        assert!(matches!(
            sample_sigma(0.0, -0.1),
            Err(Error::InvalidParam {
                name: "sigma_n",
                ..
            })
        ));
        assert!(matches!(
            ambient_loss(&[0.1], &[0.1], &[0.1], 0.0, 0.0, &mut g),
            Err(Error::InvalidParam { .. })
        ));
        // FD gradient check.
        let f = |v: f64| ambient_loss(&[v], &[1.2], &[1.1], 0.7, 0.3, &mut [0.0]).unwrap();
        ambient_loss(&[0.4], &[1.2], &[1.1], 0.7, 0.3, &mut g).unwrap();
        assert!(((f(0.4 + 1e-6) - f(0.4 - 1e-6)) / 2e-6 - g[0]).abs() < 1e-6);
    }
}
