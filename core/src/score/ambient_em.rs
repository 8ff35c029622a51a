//! Gaussian-mixture learning from samples with heterogeneous, known noise levels ("ambient EM"),
//! plus k-means++ seeding and the symmetric Chamfer error.
//!
//! Paper: Daras, Cherapanamjeri & Daskalakis, "How much is a noisy image worth? Data Scaling Laws
//! for Ambient Diffusion" (ICLR 2025, arXiv 2411.02780); spec 17 part B (our reconstruction of the
//! theory's model). `x_i = c_i + e_i`, `c_i ~ sum_k pi_k N(mu_k, v0 I_d)`, `e_i ~ N(0, s_i^2 I_d)`, so
//! `x_i ~ sum_k pi_k N(mu_k, v_i I)`, `v_i = v0 + s_i^2`, `g_i = v0 / v_i`. One EM iteration:
//! E: `r_ik = softmax_k(log pi_k - |x_i - mu_k|^2/(2 v_i))` (log-sum-exp),
//! `E[c_i|x_i,k] = mu_k + g_i (x_i - mu_k)`, `Var[c_i|x_i,k] = v0 s_i^2 / v_i` per coordinate;
//! M: `mu_k = sum_i r_ik E[c_i|x_i,k] / sum_i r_ik`,
//! `v0 = (1/(N d)) sum_ik r_ik (|E[c_i|x_i,k] - mu_k_new|^2 + d v0 s_i^2 / v_i)`; `pi` fixed.
//! Empty components (`sum_i r_ik < 1e-12`) are re-seeded at the point farthest from all means.
//! Log-likelihood `LL = sum_i log sum_k pi_k N(x_i; mu_k, v_i I)` (non-decreasing over iterations).
//! Chamfer: `CH = 0.5 (mean_k min_j |mu_k - mu_hat_j| + mean_j min_k |mu_hat_j - mu_k|)`.
//! Cost per iteration O(N K d).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check, Error, Result};
use rand_core::Rng;

/// A data set of `n` points in `R^d` with per-point noise variances `s2` (0 = clean).
#[derive(Debug, Clone, Copy)]
pub struct NoisyData<'a> {
    /// Points `[n, d]` row-major.
    pub x: &'a [f64],
    /// Known noise variance of each point (`[n]`, `>= 0`).
    pub s2: &'a [f64],
    /// Dimension.
    pub d: usize,
}

impl NoisyData<'_> {
    fn validate(&self) -> Result<usize> {
        check::nonzero("d", self.d)?;
        let n = self.s2.len();
        check::nonzero("n (points)", n)?;
        check::same_len("points (n*d)", n * self.d, self.x.len())?;
        check::all_finite_f64("points", self.x)?;
        for &s in self.s2 {
            check::non_negative("noise variance s2", s)?;
        }
        Ok(n)
    }
}

/// Mixture parameters: means `[K, d]`, shared clean variance `v0`, fixed weights `pi`.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureParams {
    /// Means `[K, d]` row-major.
    pub means: Vec<f64>,
    /// Shared per-coordinate clean variance.
    pub v0: f64,
    /// Mixing weights (kept fixed).
    pub pi: Vec<f64>,
}

/// Result of one EM iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmStep {
    /// Log-likelihood at the parameters *before* the step.
    pub loglik: f64,
    /// Components re-seeded because they were empty.
    pub reseeded: usize,
}

fn sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Log-likelihood `sum_i log sum_k pi_k N(x_i; mu_k, v_i I)`.
pub fn log_likelihood(data: &NoisyData<'_>, p: &MixtureParams) -> Result<f64> {
    let n = data.validate()?;
    let (k, d) = check_params(p, data.d)?;
    let mut ll = 0.0;
    let mut logits = vec![0.0; k];
    for i in 0..n {
        let xi = &data.x[i * d..(i + 1) * d];
        let vi = p.v0 + data.s2[i];
        for (j, l) in logits.iter_mut().enumerate() {
            *l = libm::log(p.pi[j])
                - sq(xi, &p.means[j * d..(j + 1) * d]) / (2.0 * vi)
                - 0.5 * d as f64 * libm::log(2.0 * core::f64::consts::PI * vi);
        }
        ll += crate::score::special::log_sum_exp(logits.iter().copied());
    }
    Ok(ll)
}

fn check_params(p: &MixtureParams, d: usize) -> Result<(usize, usize)> {
    let k = p.pi.len();
    check::nonzero("components", k)?;
    check::same_len("means (K*d)", k * d, p.means.len())?;
    check::positive("v0", p.v0)?;
    for &w in &p.pi {
        check::positive("pi", w)?;
    }
    Ok((k, d))
}

/// One heterogeneous EM iteration (in place). With `naive = true` every point is treated as clean
/// (and the returned log-likelihood is the naive model's).
pub fn em_step(data: &NoisyData<'_>, p: &mut MixtureParams, naive: bool) -> Result<EmStep> {
    let n = data.validate()?;
    let (k, d) = check_params(p, data.d)?;
    let mut loglik = 0.0;
    let v0 = p.v0;
    let log_pi: Vec<f64> = p.pi.iter().map(|&w| libm::log(w)).collect();
    let mut rsum = vec![0.0; k];
    let mut msum = vec![0.0; k * d];
    let mut resp = vec![0.0; n * k];
    let mut varsum = 0.0;
    for i in 0..n {
        let xi = &data.x[i * d..(i + 1) * d];
        let s2 = if naive { 0.0 } else { data.s2[i] };
        let vi = v0 + s2;
        let gi = v0 / vi;
        let inv2v = 1.0 / (2.0 * vi);
        let ri = &mut resp[i * k..(i + 1) * k];
        let mut mx = f64::NEG_INFINITY;
        for (j, r) in ri.iter_mut().enumerate() {
            *r = log_pi[j] - sq(xi, &p.means[j * d..(j + 1) * d]) * inv2v;
            mx = mx.max(*r);
        }
        let mut z = 0.0;
        for r in ri.iter_mut() {
            *r = libm::exp(*r - mx);
            z += *r;
        }
        loglik += mx + libm::log(z) - 0.5 * d as f64 * libm::log(2.0 * core::f64::consts::PI * vi);
        let invz = 1.0 / z;
        for (j, r) in ri.iter_mut().enumerate() {
            *r *= invz;
            rsum[j] += *r;
            for c in 0..d {
                let mu = p.means[j * d + c];
                msum[j * d + c] += *r * (mu + gi * (xi[c] - mu));
            }
        }
        varsum += d as f64 * v0 * s2 / vi;
    }
    let old = p.means.clone();
    let mut reseeded = 0;
    for j in 0..k {
        if rsum[j] < 1e-12 {
            reseeded += 1;
            // Farthest point from all current means.
            let mut best = (0usize, -1.0);
            for i in 0..n {
                let xi = &data.x[i * d..(i + 1) * d];
                let md = (0..k)
                    .map(|q| sq(xi, &p.means[q * d..(q + 1) * d]))
                    .fold(f64::INFINITY, f64::min);
                if md > best.1 {
                    best = (i, md);
                }
            }
            let src = &data.x[best.0 * d..(best.0 + 1) * d];
            p.means[j * d..(j + 1) * d].copy_from_slice(src);
        } else {
            for c in 0..d {
                p.means[j * d + c] = msum[j * d + c] / rsum[j];
            }
        }
    }
    // v0 with E-step quantities (old mu, v0) and the fresh means.
    let mut acc = varsum;
    for i in 0..n {
        let xi = &data.x[i * d..(i + 1) * d];
        let s2 = if naive { 0.0 } else { data.s2[i] };
        let gi = v0 / (v0 + s2);
        for j in 0..k {
            let r = resp[i * k + j];
            if r == 0.0 {
                continue;
            }
            let mut dist = 0.0;
            for c in 0..d {
                let mu_old = old[j * d + c];
                let e = mu_old + gi * (xi[c] - mu_old) - p.means[j * d + c];
                dist += e * e;
            }
            acc += r * dist;
        }
    }
    p.v0 = (acc / (n * d) as f64).max(1e-12);
    Ok(EmStep { loglik, reseeded })
}

/// k-means++ seeding: `k` rows of `x` (`[n, d]`), the first uniform, then each with probability
/// proportional to the squared distance to the nearest chosen seed.
pub fn kmeans_pp<R: Rng + ?Sized>(rng: &mut R, x: &[f64], d: usize, k: usize) -> Result<Vec<f64>> {
    check::nonzero("d", d)?;
    check::nonzero("k", k)?;
    if !x.len().is_multiple_of(d) {
        return Err(Error::len_mismatch("kmeans_pp points", d, x.len()));
    }
    let n = x.len() / d;
    if n < k {
        return Err(Error::invalid("k", k as f64, "<= number of points"));
    }
    let mut seeds = Vec::with_capacity(k * d);
    let first = crate::rng::seq::below(rng, n)?;
    seeds.extend_from_slice(&x[first * d..(first + 1) * d]);
    let mut dist: Vec<f64> = x.chunks_exact(d).map(|p| sq(p, &seeds[..d])).collect();
    for _ in 1..k {
        let next = if dist.iter().sum::<f64>() > 0.0 {
            crate::rng::seq::categorical(rng, &dist)?
        } else {
            crate::rng::seq::below(rng, n)?
        };
        let s: Vec<f64> = x[next * d..(next + 1) * d].to_vec();
        for (dv, p) in dist.iter_mut().zip(x.chunks_exact(d)) {
            *dv = dv.min(sq(p, &s));
        }
        seeds.extend_from_slice(&s);
    }
    Ok(seeds)
}

/// Symmetric Chamfer distance between two sets of means (`[K, d]` and `[J, d]`).
pub fn chamfer(a: &[f64], b: &[f64], d: usize) -> Result<f64> {
    check::nonzero("d", d)?;
    if a.is_empty() || b.is_empty() || !a.len().is_multiple_of(d) || !b.len().is_multiple_of(d) {
        return Err(Error::len_mismatch(
            "chamfer sets (K*d)",
            d,
            a.len().min(b.len()),
        ));
    }
    let one = |p: &[f64], q: &[f64]| -> f64 {
        let cnt = p.len() / d;
        p.chunks_exact(d)
            .map(|u| {
                q.chunks_exact(d)
                    .map(|v| libm::sqrt(sq(u, v)))
                    .fold(f64::INFINITY, f64::min)
            })
            .sum::<f64>()
            / cnt as f64
    };
    Ok(0.5 * (one(a, b) + one(b, a)))
}

/// Runs up to `iters` EM iterations from `init`, stopping early once the log-likelihood gains less
/// than `rel_tol * |LL|` in one iteration (`rel_tol = 0` runs all). Returns the final parameters,
/// the log-likelihood trace (one entry per iteration plus the final value) and the re-seed count.
pub fn fit_em(
    data: &NoisyData<'_>,
    init: MixtureParams,
    iters: usize,
    rel_tol: f64,
    naive: bool,
) -> Result<(MixtureParams, Vec<f64>, usize)> {
    check::non_negative("rel_tol", rel_tol)?;
    let mut p = init;
    let mut trace: Vec<f64> = Vec::with_capacity(iters + 1);
    let mut reseeded = 0;
    for _ in 0..iters {
        let s = em_step(data, &mut p, naive)?;
        let prev = trace.last().copied();
        trace.push(s.loglik);
        reseeded += s.reseeded;
        if let Some(prev) = prev {
            if s.reseeded == 0 && (s.loglik - prev).abs() <= rel_tol * s.loglik.abs() {
                break;
            }
        }
    }
    let eff_s2: Vec<f64>;
    let eval = if naive {
        eff_s2 = vec![0.0; data.s2.len()];
        NoisyData {
            x: data.x,
            s2: &eff_s2,
            d: data.d,
        }
    } else {
        *data
    };
    trace.push(log_likelihood(&eval, &p)?);
    Ok((p, trace, reseeded))
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn golden_case_5() {
        let x = [-2.1, -1.5, 0.3, 1.8, 2.6];
        let s2 = [0.0, 0.0, 1.0, 1.0, 0.0];
        let data = NoisyData {
            x: &x,
            s2: &s2,
            d: 1,
        };
        let mut p = MixtureParams {
            means: vec![-1.0, 1.0],
            v0: 1.0,
            pi: vec![0.5, 0.5],
        };
        let st = em_step(&data, &mut p, false).unwrap();
        assert!((st.loglik + 10.2697698842).abs() < 1e-9, "{}", st.loglik);
        assert!(
            (p.means[0] + 1.42421765).abs() < 1e-8 && (p.means[1] - 1.63032147).abs() < 1e-8,
            "{:?}",
            p.means
        );
        assert!((p.v0 - 0.9420747667).abs() < 1e-9, "{}", p.v0);
    }

    #[test]
    fn invariants() {
        let mut rng = crate::rng::default_rng(8);
        let n = 600;
        let mut x = vec![0.0; n];
        for (i, v) in x.iter_mut().enumerate() {
            let m = if i % 2 == 0 { -2.0 } else { 2.0 };
            *v = m + crate::rng::seq::normal(&mut rng) * libm::sqrt(1.0 + 0.5);
        }
        let s2 = vec![0.5; n];
        let zeros = vec![0.0; n];
        let init = MixtureParams {
            means: vec![-1.0, 1.0],
            v0: 1.0,
            pi: vec![0.5, 0.5],
        };
        let (ph, tr, _) = fit_em(
            &NoisyData {
                x: &x,
                s2: &s2,
                d: 1,
            },
            init.clone(),
            200,
            0.0,
            false,
        )
        .unwrap();
        for w in tr.windows(2) {
            assert!(w[1] >= w[0] - 1e-9 * w[0].abs(), "LL decreased {w:?}");
        }
        let (pn, _, _) = fit_em(
            &NoisyData {
                x: &x,
                s2: &zeros,
                d: 1,
            },
            init.clone(),
            200,
            0.0,
            true,
        )
        .unwrap();
        let (pz, _, _) = fit_em(
            &NoisyData {
                x: &x,
                s2: &zeros,
                d: 1,
            },
            init,
            200,
            0.0,
            false,
        )
        .unwrap();
        // all s_i = 0: heterogeneous == standard EM; equal s: v0_hat + s^2 ≈ naive v0.
        assert_eq!(pn, pz);
        assert!((ph.v0 + 0.5 - pn.v0).abs() < 0.02, "{} {}", ph.v0, pn.v0);
        assert_eq!(
            chamfer(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 2.0, 3.0], 2).unwrap(),
            0.0
        );
        let (a, b) = ([0.0, 0.0, 4.0, 1.0], [1.0, 0.0]);
        assert_eq!(chamfer(&a, &b, 2).unwrap(), chamfer(&b, &a, 2).unwrap());
        assert!(chamfer(&a, &b, 3).is_err());
        let s = kmeans_pp(&mut rng, &x, 1, 2).unwrap();
        assert_eq!(s.len(), 2);
        assert!(kmeans_pp(&mut rng, &x[..1], 1, 2).is_err());
        let mut bad = MixtureParams {
            means: vec![0.0],
            v0: -1.0,
            pi: vec![1.0],
        };
        assert!(em_step(
            &NoisyData {
                x: &x,
                s2: &s2,
                d: 1
            },
            &mut bad,
            false
        )
        .is_err());
        assert!(em_step(
            &NoisyData {
                x: &x,
                s2: &[-1.0; 600],
                d: 1
            },
            &mut MixtureParams {
                means: vec![0.0],
                v0: 1.0,
                pi: vec![1.0]
            },
            false
        )
        .is_err());
    }
}
