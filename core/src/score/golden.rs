//! Golden-noise toy: a DDIM sampler with classifier-free guidance (CFG) on a class-conditional
//! Gaussian mixture with a closed-form epsilon, and re-denoise sampling that turns a random noise
//! into a "golden" one.
//!
//! Paper: Zhou, Shao, Bai, Xu, Han & Xie, "Golden Noise for Diffusion Models: A Learning
//! Framework" (ICCV 2025, arXiv 2411.09502); code xie-lab-ml/Golden-Noise-for-Diffusion-Models
//! (`pipeline_stable_diffusion_xl.py::forward_ours`); spec 18 (the analytic toy is our design).
//! * Schedule (SD "scaled_linear"): `beta_i = (sqrt(0.00085) + i (sqrt(0.012) - sqrt(0.00085))/999)^2`,
//!   `abar_t = prod_{i<=t} (1 - beta_i)`; DDIM steps `round(linspace(999, 0, S))`, then `abar = 1`.
//! * Data `x0 | c ~ N(mu_c, s0^2 I)`: with `a = abar_t`, `v = a s0^2 + 1 - a`,
//!   `eps_c(x) = sqrt(1-a)(x - sqrt(a) mu_c)/v`, `eps_u = sum_c r_c eps_c`,
//!   `r_c ∝ pi_c exp(-|x - sqrt(a) mu_c|^2/(2v))`; weak conditional model
//!   `eps_cm = eps_u + gamma (eps_c - eps_u)`; CFG `eps_w = eps_u + w (eps_cm - eps_u)`.
//! * DDIM (eta = 0): `x0_hat = (x - sqrt(1-a_t) eps)/sqrt(a_t)`, `x_s = sqrt(a_s) x0_hat + sqrt(1-a_s) eps`;
//!   the inverse step is the same map with the roles of the two levels exchanged.
//! * Re-denoise: `eps1 = cfg(x_T, t, w_l)`, `x_s = ddim(x_T, t -> s, eps1)`,
//!   `eps2 = cfg(x_s, t, w_w)` (evaluated at the *old* timestep `t`, as the reference code does),
//!   `x'_T = ddim_inverse(x_s, s -> t, eps2)`.
//! * Reward: `P(c | x0)` under the true clean mixture (the stand-in for HPSv2).
//! * AdaGroupNorm (1 group, eps 1e-6): `GN(x)(1 + scale) + shift`.
//!
//! Cost: O(C d) per epsilon evaluation; a sample costs `S` evaluations. No allocation.

use crate::error::{check, Error, Result};

/// Number of training timesteps of the schedule.
pub const T_TRAIN: usize = 1000;

/// `abar_t` of the scaled-linear schedule, `t in 0..1000` (O(t)).
pub fn scaled_linear_alphabar(t: usize) -> Result<f64> {
    if t >= T_TRAIN {
        return Err(Error::invalid("t", t as f64, "in 0..=999"));
    }
    let (b0, b1) = (libm::sqrt(0.00085), libm::sqrt(0.012));
    let mut a = 1.0;
    for i in 0..=t {
        let r = b0 + (b1 - b0) * i as f64 / (T_TRAIN - 1) as f64;
        a *= 1.0 - r * r;
    }
    Ok(a)
}

/// DDIM timesteps `round(linspace(999, 0, S))` into `out` (`S = out.len() >= 2`).
pub fn ddim_timesteps(out: &mut [usize]) -> Result<()> {
    let s = out.len();
    if s < 2 {
        return Err(Error::invalid("S (steps)", s as f64, "an integer >= 2"));
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = libm::round(999.0 * (1.0 - i as f64 / (s - 1) as f64)) as usize;
    }
    Ok(())
}

/// One DDIM (eta = 0) move from level `a_from` to `a_to` with a fixed epsilon (also the inverse
/// step, with the levels exchanged). `a_from in (0, 1]`, `a_to in (0, 1]`.
pub fn ddim_step(x: &[f64], eps: &[f64], a_from: f64, a_to: f64, out: &mut [f64]) -> Result<()> {
    check::half_open("a_t", a_from, f64::MIN_POSITIVE, 1.0 + 1e-15, "in (0, 1]")?;
    check::half_open("a_s", a_to, f64::MIN_POSITIVE, 1.0 + 1e-15, "in (0, 1]")?;
    check::same_len("ddim eps", x.len(), eps.len())?;
    check::same_len("ddim out", x.len(), out.len())?;
    let (sf, nf) = (libm::sqrt(a_from), libm::sqrt((1.0 - a_from).max(0.0)));
    let (st, nt) = (libm::sqrt(a_to), libm::sqrt((1.0 - a_to).max(0.0)));
    for ((o, &xi), &e) in out.iter_mut().zip(x).zip(eps) {
        let x0 = (xi - nf * e) / sf;
        *o = st * x0 + nt * e;
    }
    Ok(())
}

/// Classifier-free guidance of two predictions: `eps_u + w (eps_c - eps_u)`.
pub fn cfg(eps_u: f64, eps_c: f64, w: f64) -> f64 {
    eps_u + w * (eps_c - eps_u)
}

/// Class-conditional isotropic Gaussian mixture with the weak conditional model.
#[derive(Debug, Clone, Copy)]
pub struct ClassMixture<'a> {
    means: &'a [f64],
    pi: &'a [f64],
    d: usize,
    s0: f64,
    gamma: f64,
}

impl<'a> ClassMixture<'a> {
    /// `means: [C, d]`, `pi: [C]` positive summing to 1, `s0 > 0`, `gamma in (0, 1]`.
    pub fn new(means: &'a [f64], pi: &'a [f64], s0: f64, gamma: f64) -> Result<Self> {
        check::positive("s0", s0)?;
        check::half_open("gamma", gamma, f64::MIN_POSITIVE, 1.0 + 1e-15, "in (0, 1]")?;
        check::nonzero("classes", pi.len())?;
        if means.is_empty() || !means.len().is_multiple_of(pi.len()) {
            return Err(Error::len_mismatch(
                "class means (C*d)",
                pi.len(),
                means.len(),
            ));
        }
        check::all_finite_f64("class means", means)?;
        let mut sum = 0.0;
        for &p in pi {
            check::positive("pi", p)?;
            sum += p;
        }
        if (sum - 1.0).abs() > 1e-9 {
            return Err(Error::invalid("pi (sum)", sum, "summing to 1 (tol 1e-9)"));
        }
        Ok(Self {
            means,
            pi,
            d: means.len() / pi.len(),
            s0,
            gamma,
        })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.pi.len()
    }

    fn mu(&self, c: usize) -> &[f64] {
        &self.means[c * self.d..(c + 1) * self.d]
    }

    fn logit(&self, c: usize, x: &[f64], sa: f64, v: f64) -> f64 {
        let d2: f64 = x
            .iter()
            .zip(self.mu(c))
            .map(|(&xi, &m)| (xi - sa * m) * (xi - sa * m))
            .sum();
        libm::log(self.pi[c]) - d2 / (2.0 * v)
    }

    /// Guided epsilon `eps_u + w (eps_cm - eps_u)` at level `a = abar_t` for class `c`, into `out`.
    pub fn eps_cfg(&self, x: &[f64], a: f64, c: usize, w: f64, out: &mut [f64]) -> Result<()> {
        check::half_open("abar", a, f64::MIN_POSITIVE, 1.0 + 1e-15, "in (0, 1]")?;
        check::same_len("eps x", self.d, x.len())?;
        check::same_len("eps out", self.d, out.len())?;
        if c >= self.classes() {
            return Err(Error::invalid("class", c as f64, "< number of classes"));
        }
        check::finite("w", w)?;
        let sa = libm::sqrt(a);
        let v = a * self.s0 * self.s0 + 1.0 - a;
        let k = libm::sqrt(1.0 - a) / v;
        let nc = self.classes();
        let mx = (0..nc)
            .map(|j| self.logit(j, x, sa, v))
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..nc)
            .map(|j| libm::exp(self.logit(j, x, sa, v) - mx))
            .sum();
        // eps_u = k (x - sa sum_j r_j mu_j); eps_c - eps_u = k sa (mean_r - mu_c).
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = xi;
        }
        let gw = self.gamma * w;
        for j in 0..nc {
            let r = libm::exp(self.logit(j, x, sa, v) - mx) / z;
            for (o, &m) in out.iter_mut().zip(self.mu(j)) {
                *o -= sa * r * m * (1.0 - gw);
            }
        }
        for (o, &m) in out.iter_mut().zip(self.mu(c)) {
            *o -= sa * gw * m;
            *o *= k;
        }
        Ok(())
    }

    /// The exact conditional `eps_c(x)` of class `c` at level `a`, into `out`.
    pub fn eps_class(&self, x: &[f64], a: f64, c: usize, out: &mut [f64]) -> Result<()> {
        check::half_open("abar", a, f64::MIN_POSITIVE, 1.0 + 1e-15, "in (0, 1]")?;
        check::same_len("eps x", self.d, x.len())?;
        check::same_len("eps out", self.d, out.len())?;
        if c >= self.classes() {
            return Err(Error::invalid("class", c as f64, "< number of classes"));
        }
        let sa = libm::sqrt(a);
        let v = a * self.s0 * self.s0 + 1.0 - a;
        let k = libm::sqrt(1.0 - a) / v;
        for ((o, &xi), &m) in out.iter_mut().zip(x).zip(self.mu(c)) {
            *o = k * (xi - sa * m);
        }
        Ok(())
    }

    /// DDIM sampling with CFG `w` from `x` (the noise, overwritten with the clean sample) through
    /// the levels `abars` (descending timesteps' `abar`, the final move goes to `abar = 1`).
    /// `eps` is scratch of length `d`; `tmp` another.
    pub fn sample(
        &self,
        x: &mut [f64],
        c: usize,
        w: f64,
        abars: &[f64],
        eps: &mut [f64],
        tmp: &mut [f64],
    ) -> Result<()> {
        check::nonzero("steps", abars.len())?;
        check::same_len("sample tmp", x.len(), tmp.len())?;
        for (i, &a) in abars.iter().enumerate() {
            let next = abars.get(i + 1).copied().unwrap_or(1.0);
            self.eps_cfg(x, a, c, w, eps)?;
            ddim_step(x, eps, a, next, tmp)?;
            x.copy_from_slice(tmp);
        }
        Ok(())
    }

    /// Re-denoise sampling: the golden noise `x'_T` for `x_T` (into `out`), levels `a_t > a_s`'s
    /// timesteps' `abar` values (`a_t` = first, `a_s` = second DDIM level), guidance `w_l` then `w_w`.
    #[allow(clippy::too_many_arguments)]
    pub fn re_denoise(
        &self,
        x_t: &[f64],
        c: usize,
        a_t: f64,
        a_s: f64,
        w_l: f64,
        w_w: f64,
        eps: &mut [f64],
        out: &mut [f64],
    ) -> Result<()> {
        check::same_len("re_denoise out", x_t.len(), out.len())?;
        self.eps_cfg(x_t, a_t, c, w_l, eps)?;
        ddim_step(x_t, eps, a_t, a_s, out)?;
        // eps at the new latent but the old timestep (reference code).
        self.eps_cfg(out, a_t, c, w_w, eps)?;
        // Inverse step s -> t (elementwise, so it may run in place).
        let (ss, ns) = (libm::sqrt(a_s), libm::sqrt(1.0 - a_s));
        let (st, nt) = (libm::sqrt(a_t), libm::sqrt(1.0 - a_t));
        for (o, &e) in out.iter_mut().zip(eps.iter()) {
            let x0 = (*o - ns * e) / ss;
            *o = st * x0 + nt * e;
        }
        Ok(())
    }

    /// Reward: posterior `P(c | x0)` under the true clean mixture (`s0`, `pi`).
    pub fn alignment(&self, x0: &[f64], c: usize) -> Result<f64> {
        check::same_len("alignment x0", self.d, x0.len())?;
        if c >= self.classes() {
            return Err(Error::invalid("class", c as f64, "< number of classes"));
        }
        let v = self.s0 * self.s0;
        let nc = self.classes();
        let mx = (0..nc)
            .map(|j| self.logit(j, x0, 1.0, v))
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = (0..nc)
            .map(|j| libm::exp(self.logit(j, x0, 1.0, v) - mx))
            .sum();
        Ok(libm::exp(self.logit(c, x0, 1.0, v) - mx) / z)
    }
}

/// One-group AdaGroupNorm: `out = (x - mean)/sqrt(var + 1e-6) (1 + scale) + shift`.
pub fn ada_group_norm(x: &[f64], scale: &[f64], shift: &[f64], out: &mut [f64]) -> Result<()> {
    check::nonzero("group norm input", x.len())?;
    check::same_len("group norm scale", x.len(), scale.len())?;
    check::same_len("group norm shift", x.len(), shift.len())?;
    check::same_len("group norm out", x.len(), out.len())?;
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
    let inv = 1.0 / libm::sqrt(var + 1e-6);
    for (((o, &xi), &s), &b) in out.iter_mut().zip(x).zip(scale).zip(shift) {
        *o = (xi - m) * inv * (1.0 + s) + b;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn schedule_and_steps() {
        assert!((scaled_linear_alphabar(999).unwrap() - 0.0046600985).abs() < 1e-10);
        assert!((scaled_linear_alphabar(888).unwrap() - 0.0160092819).abs() < 1e-10);
        assert!((scaled_linear_alphabar(0).unwrap() - 0.99915).abs() < 1e-12);
        assert!(scaled_linear_alphabar(1000).is_err());
        let mut ts = [0usize; 10];
        ddim_timesteps(&mut ts).unwrap();
        assert_eq!(ts, [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
        assert!(matches!(
            ddim_timesteps(&mut [0usize; 1]),
            Err(Error::InvalidParam { .. })
        ));
    }

    #[test]
    fn golden_cases_2_3_4() {
        assert!((cfg(0.2, 0.6, 5.5) - 2.4).abs() < 1e-14);
        let (a9, a8) = (
            scaled_linear_alphabar(999).unwrap(),
            scaled_linear_alphabar(888).unwrap(),
        );
        let mut o = [0.0];
        let x0 = (1.0 - libm::sqrt(1.0 - a9) * 0.5) / libm::sqrt(a9);
        assert!((x0 - 7.3414929299).abs() < 1e-8);
        ddim_step(&[1.0], &[0.5], a9, a8, &mut o).unwrap();
        assert!((o[0] - 1.4248844157).abs() < 1e-9);
        let m = ClassMixture::new(&[-2.0, 2.0], &[0.5, 0.5], 0.5, 0.3).unwrap();
        let mut e = [0.0];
        m.eps_cfg(&[0.3], a9, 1, 0.0, &mut e).unwrap();
        assert!((e[0] - 0.2947347988).abs() < 1e-9);
        m.eps_class(&[0.3], a9, 0, &mut e).unwrap();
        assert!((e[0] - 0.4370389882288937).abs() < 1e-12); // numpy; spec rounds to 0.43703899
        m.eps_class(&[0.3], a9, 1, &mut e).unwrap();
        assert!((e[0] - 0.16366083995428204).abs() < 1e-12);
        m.eps_cfg(&[0.3], a9, 1, 5.5, &mut e).unwrap();
        assert!((e[0] - 0.0784627667).abs() < 1e-9);
        let mut g = [0.0];
        m.re_denoise(&[0.3], 1, a9, a8, 5.5, 1.0, &mut e, &mut g)
            .unwrap();
        assert!((g[0] - 0.4681058779).abs() < 1e-9, "{}", g[0]);
        // w = 1 gives the weak conditional model eps_u + gamma (eps_c - eps_u).
        let mut eu = [0.0];
        m.eps_cfg(&[0.3], a9, 1, 0.0, &mut eu).unwrap();
        m.eps_cfg(&[0.3], a9, 1, 1.0, &mut e).unwrap();
        assert!((e[0] - (eu[0] + 0.3 * (0.1636608400 - eu[0]))).abs() < 1e-9);
    }

    #[test]
    fn ddim_inverse_is_exact_and_group_norm() {
        let x = [0.3, -1.2, 2.5];
        let eps = [0.1, 0.7, -0.4];
        let (mut s, mut back) = ([0.0; 3], [0.0; 3]);
        ddim_step(&x, &eps, 0.02, 0.3, &mut s).unwrap();
        ddim_step(&s, &eps, 0.3, 0.02, &mut back).unwrap();
        for i in 0..3 {
            assert!((back[i] - x[i]).abs() < 1e-12);
        }
        let mut o = [0.0; 4];
        ada_group_norm(&[1.0, 2.0, 3.0, 4.0], &[0.0; 4], &[0.0; 4], &mut o).unwrap();
        assert!((o[0] + 1.34164025).abs() < 1e-8 && (o[1] + 0.44721342).abs() < 1e-8);
        ada_group_norm(
            &[1.0, 2.0, 3.0, 4.0],
            &[0.1, -0.2, 0.0, 0.5],
            &[0.0, 0.1, -0.1, 0.2],
            &mut o,
        )
        .unwrap();
        let want = [-1.47580427, -0.25777073, 0.34721342, 2.21246037];
        for i in 0..4 {
            assert!((o[i] - want[i]).abs() < 1e-8);
        }
        assert!(matches!(
            ddim_step(&x, &eps, 0.0, 0.3, &mut s),
            Err(Error::InvalidParam { .. })
        ));
        assert!(ClassMixture::new(&[0.0, 1.0], &[0.5, 0.5], 0.5, 0.0).is_err());
        let m = ClassMixture::new(&[-2.0, 2.0], &[0.5, 0.5], 0.5, 0.3).unwrap();
        assert!(m.alignment(&[0.0], 2).is_err());
        assert!((m.alignment(&[0.0], 1).unwrap() - 0.5).abs() < 1e-15);
    }
}
