//! Denoising score matching (DSM) loss and its gradient, in the score form and in the x0
//! ("regression with noisy labels") form.
//!
//! Paper: Han, Razaviyayn & Xu, "Neural Network-Based Score Estimation in Diffusion Models:
//! Optimization and Generalization" (2024, arXiv 2401.15604); spec 07.
//!
//! Score form: `L(s) = (1/n) sum_i w_i |s(x_i, t_i) + z_i / sigma_i|^2`, since
//! `grad log p(x_t | x0) = -z / sigma_t`. With the posterior-mean parametrisation
//! `s_theta(x, t) = (alpha_t f(x, t) - x) / sigma_t^2` one has exactly
//! `s_theta + z / sigma_t = alpha_t (f - x0) / sigma_t^2`, so the x0 form is
//! `L = (1/n) sum_i w_i alpha_i^2 / sigma_i^4 |f_i - x0_i|^2`; with `w = sigma^4 / alpha^2` it is
//! plain least squares, and the default used for training is `(1/(2n)) sum_i |f_i - x0_i|^2`
//! with gradient `dL/df_i = (f_i - x0_i) / n`. Cost O(n d); no allocation.

use crate::error::{check, Error, Result};
use crate::score::noising::ou_coefficients;

/// The score implied by an x0-prediction: `s = (alpha_t f - x) / sigma_t^2` (elementwise). `t > 0`.
pub fn score_from_x0(f: &[f64], x: &[f64], t: f64, out: &mut [f64]) -> Result<()> {
    check::positive("t", t)?;
    check::same_len("score_from_x0 x", f.len(), x.len())?;
    check::same_len("score_from_x0 out", f.len(), out.len())?;
    let (a, s2) = ou_coefficients(t)?;
    for ((o, &fi), &xi) in out.iter_mut().zip(f).zip(x) {
        *o = (a * fi - xi) / s2;
    }
    Ok(())
}

/// Per-sample DSM term in the score form, `|s + z / sigma_t|^2` (unit weight). `t > 0`.
pub fn dsm_term_score(s: &[f64], z: &[f64], t: f64) -> Result<f64> {
    check::positive("t", t)?;
    check::same_len("dsm_term_score", s.len(), z.len())?;
    let (_, s2) = ou_coefficients(t)?;
    let sig = libm::sqrt(s2);
    Ok(s.iter()
        .zip(z)
        .map(|(&a, &b)| (a + b / sig) * (a + b / sig))
        .sum())
}

/// Per-sample DSM term in the x0 form, `alpha_t^2 / sigma_t^4 |f - x0|^2` (equal to
/// [`dsm_term_score`] for `s = score_from_x0(f)`). `t > 0`.
pub fn dsm_term_x0(f: &[f64], x0: &[f64], t: f64) -> Result<f64> {
    check::positive("t", t)?;
    check::same_len("dsm_term_x0", f.len(), x0.len())?;
    let (a, s2) = ou_coefficients(t)?;
    let sq: f64 = f.iter().zip(x0).map(|(&p, &q)| (p - q) * (p - q)).sum();
    Ok(a * a / (s2 * s2) * sq)
}

/// Least-squares DSM loss `(1/(2n)) sum_i |f_i - x0_i|^2` over `n` rows (flattened, any `d`), and its
/// gradient `grad_i = (f_i - x0_i) / n` written into `grad`. Empty input and non-finite values are errors.
pub fn dsm_loss_x0(f: &[f64], x0: &[f64], n: usize, grad: &mut [f64]) -> Result<f64> {
    check::nonzero("n (batch size)", n)?;
    check::same_len("dsm_loss_x0 x0", f.len(), x0.len())?;
    check::same_len("dsm_loss_x0 grad", f.len(), grad.len())?;
    if f.is_empty() || !f.len().is_multiple_of(n) {
        return Err(Error::len_mismatch("dsm_loss_x0 rows", n, f.len()));
    }
    check::all_finite_f64("network output", f)?;
    check::all_finite_f64("x0", x0)?;
    let inv = 1.0 / n as f64;
    let mut loss = 0.0;
    for ((g, &p), &q) in grad.iter_mut().zip(f).zip(x0) {
        let r = p - q;
        loss += r * r;
        *g = r * inv;
    }
    Ok(0.5 * loss * inv)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::score::noising::ou_forward;

    #[test]
    fn golden_case_3_and_identity() {
        let mut xt = [0.0];
        ou_forward(&[1.0], 0.5, &[0.5], &mut xt).unwrap();
        let mut s = [0.0];
        score_from_x0(&[0.8], &xt, 0.5, &mut s).unwrap();
        assert!((s[0] + 0.8207867526).abs() < 1e-9);
        let a = dsm_term_score(&s, &[0.5], 0.5).unwrap();
        let b = dsm_term_x0(&[0.8], &[1.0], 0.5).unwrap();
        assert!((a - 0.0368269438).abs() < 1e-9 && (b - 0.0368269438).abs() < 1e-9);
        // Identity for arbitrary f, t, z to 1e-12.
        for &(f, x0, z, t) in &[
            (0.3, -1.2, 0.7, 0.2),
            (-2.0, 2.0, -1.5, 1.3),
            (5.0, 0.1, 0.0, 0.05),
        ] {
            let mut x = [0.0];
            ou_forward(&[x0], t, &[z], &mut x).unwrap();
            score_from_x0(&[f], &x, t, &mut s).unwrap();
            let a = dsm_term_score(&s, &[z], t).unwrap();
            let b = dsm_term_x0(&[f], &[x0], t).unwrap();
            assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} {b}");
        }
    }

    #[test]
    fn loss_and_errors() {
        let mut g = [0.0; 2];
        let l = dsm_loss_x0(&[1.0, 3.0], &[0.0, 1.0], 2, &mut g).unwrap();
        assert!((l - 1.25).abs() < 1e-15 && g == [0.5, 1.0]);
        assert!(matches!(
            dsm_loss_x0(&[], &[], 1, &mut []),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            dsm_loss_x0(&[1.0], &[1.0], 0, &mut [0.0]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            dsm_loss_x0(&[f64::NAN], &[1.0], 1, &mut [0.0]),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            dsm_term_x0(&[1.0], &[1.0], 0.0),
            Err(Error::InvalidParam { name: "t", .. })
        ));
    }
}
