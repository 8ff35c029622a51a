//! Column-row sampling (CRS) and winner-take-all CRS (WTA-CRS) estimators of a matrix product.
//!
//! Paper: Liu, Wang, Zhong, Xu, Zha, Tang, Jiang, Zhou, Chaudhary, Xu, Hu, "Winner-Take-All Column
//! Row Sampling for Memory Efficient Adaptation of Language Model", NeurIPS 2023, arXiv 2305.15265
//! (CRS itself: Drineas, Kannan, Mahoney 2006).
//!
//! For `A` (n x m) and `B` (m x q), `AB = sum_i A[:,i] B[i,:]`. With `a_i = ||A[:,i]||`,
//! `b_i = ||B[i,:]||`, `w_i = a_i b_i`, `W = sum_i w_i`, the sampling law is `p_i = w_i / W`.
//!
//! - CRS, budget `k`, `i_t ~ p` i.i.d.: `CRS = sum_t A[:,i_t] B[i_t,:] / (k p_{i_t})`, unbiased,
//!   `E||CRS - AB||_F^2 = (1/k)(sum_i a_i^2 b_i^2 / p_i - ||AB||_F^2)`.
//! - WTA-CRS: winners `C` (the `|C|` largest `p_i`) kept exactly, `s = k - |C|` i.i.d. draws `j_t`
//!   from the rest with law `p_j / (1 - P_C)`:
//!   `WTA = sum_{c in C} A[:,c] B[c,:] + ((1 - P_C)/s) sum_t A[:,j_t] B[j_t,:] / p_{j_t}`, unbiased,
//!   `E||WTA - AB||_F^2 = (1/s)((1 - P_C) sum_{j not in C} a_j^2 b_j^2 / p_j - ||R_C||_F^2)` with
//!   `R_C = sum_{j not in C} A[:,j] B[j,:]`.
//! - Adaptive `|C|` (reference code `k_adaptive_3D`): cumulative sums `c_j` of the sorted top-k
//!   probabilities, `score_j = (1 - c_j)/(k - j)` (`score_k = inf`), `j* = argmin` (first on ties);
//!   `|C| = 0` if `1/k < score_{j*}`, else `j*`.
//!
//! Corrections to the reference code: the probabilities carry no `1e-8` epsilon; the
//! "mix-replacement" branch of the code (draws without replacement and without `1/p` scaling when
//! `|C| = 0`) is biased and is not copied — every draw here is with replacement and reweighted. The
//! remainder mass `1 - P_C` is computed as the sum of the remaining `p_j` (no cancellation).
//!
//! Cost: probabilities O(m); winner selection O(m + k log k) (`select_nth_unstable`); the remainder's
//! CDF O(m) and `s` binary searches O(s log m); one uniform per stochastic draw. The reduced product
//! ([`sampled_matmul`]) is a column gather, a row gather and one `n x k x q` gemm on the backend
//! (`2 n k q` FLOPs instead of `2 n m q`). Nothing here allocates: the caller owns every buffer.

use rand_core::Rng;

use crate::backend::{Backend, Transpose};
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// How many winners (deterministic column-row pairs) a WTA-CRS draw keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Winners {
    /// The paper's adaptive rule (reference default `deter_adaptive = True`).
    Adaptive,
    /// A fixed number of winners (`0` = plain CRS).
    Fixed(usize),
}

/// Options of a sampling plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Winner rule.
    pub winners: Winners,
    /// When the remainder mass `1 - P_C` is below this, drop the stochastic part (biased by at most
    /// that mass; the reference code uses `1e-3`). `None` (default) keeps the unbiased form.
    pub tail_cutoff: Option<f64>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            winners: Winners::Adaptive,
            tail_cutoff: None,
        }
    }
}

/// The outcome of [`plan`]: `idx[..len]` and `scale[..len]` describe the estimator
/// `sum_t scale[t] A[:, idx[t]] B[idx[t], :]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Used entries of the index / scale buffers.
    pub len: usize,
    /// Number of winners `|C|` (the first `winners` entries, scale 1).
    pub winners: usize,
    /// Number of stochastic draws `s`.
    pub stochastic: usize,
    /// Probability mass of the winners `P_C`.
    pub p_c: f64,
    /// Whether the plan is the exact product (budget covers every pair with positive weight).
    pub exact: bool,
}

/// The budget rule of the reference code: `k = min(max(floor(n * ratio), minimal_k), n)`.
pub fn budget(n: usize, ratio: f64, minimal_k: usize) -> Result<usize> {
    check::closed("sampling_ratio", ratio, 0.0, 1.0, "in [0, 1]")?;
    let k = libm::floor(n as f64 * ratio) as usize;
    Ok(k.max(minimal_k).min(n))
}

/// Variance-optimal CRS probabilities `p_i = a_i b_i / W` into `p`; returns `W`.
///
/// With `b_norms = None`, `p_i = a_i / sum a` (the reference fallback when one factor's norms are
/// unknown). If `W = 0`, `p` is all zero and `0` is returned (the product is exactly zero).
pub fn probabilities(a_norms: &[f64], b_norms: Option<&[f64]>, p: &mut [f64]) -> Result<f64> {
    check::same_len("crs probabilities (p)", a_norms.len(), p.len())?;
    if let Some(b) = b_norms {
        check::same_len("crs probabilities (b_norms)", a_norms.len(), b.len())?;
        check::all_finite_f64("b_norms", b)?;
    }
    check::all_finite_f64("a_norms", a_norms)?;
    let mut total = 0.0;
    for (i, (pi, &a)) in p.iter_mut().zip(a_norms).enumerate() {
        let b = match b_norms {
            Some(bn) => bn.get(i).copied().unwrap_or(0.0),
            None => 1.0,
        };
        if a < 0.0 {
            return Err(Error::invalid("a_norms", a, "norms >= 0"));
        }
        if b < 0.0 {
            return Err(Error::invalid("b_norms", b, "norms >= 0"));
        }
        *pi = a * b;
        total += *pi;
    }
    if !total.is_finite() {
        return Err(Error::NonFinite {
            what: "sum of column-row weights",
            index: 0,
        });
    }
    if total > 0.0 {
        p.iter_mut().for_each(|v| *v /= total);
    }
    Ok(total)
}

/// The adaptive winner count for budget `k` from the probabilities sorted in descending order
/// (only the first `min(k, len)` entries are read).
pub fn adaptive_winners(p_sorted_desc: &[f64], k: usize) -> Result<usize> {
    check::nonzero("k", k)?;
    Ok(adaptive_rule(k, p_sorted_desc.iter().copied()))
}

fn adaptive_rule(k: usize, sorted_desc: impl Iterator<Item = f64>) -> usize {
    let mut cum = 0.0;
    let mut best = f64::INFINITY;
    let mut best_j = 0;
    for (j0, pj) in sorted_desc.take(k).enumerate() {
        let j = j0 + 1;
        cum += pj;
        let score = if j >= k {
            f64::INFINITY
        } else {
            (1.0 - cum) / (k - j) as f64
        };
        if score < best {
            best = score;
            best_j = j;
        }
    }
    if !best.is_finite() || 1.0 / (k as f64) < best {
        0
    } else {
        best_j
    }
}

/// Draws a CRS / WTA-CRS plan with budget `k` from the probabilities `p` (from [`probabilities`]).
///
/// Buffers: `order` (len `m = p.len()`, index scratch), `cdf` (len `m`), `idx` and `scale` (len
/// `>= min(k, m)`). On return `order[..winners]` holds the winner indices. When the budget covers
/// every pair with positive probability the plan is the exact product (all such pairs, scale 1);
/// when every `p_i = 0` the plan is empty (`len = 0`: the product is zero).
///
/// Errors: `k = 0`; a fixed winner count `>= k` while mass remains outside the winners; buffer
/// sizes; negative or non-finite `p`.
#[allow(clippy::too_many_arguments)]
pub fn plan<R: Rng + ?Sized>(
    rng: &mut R,
    p: &[f64],
    k: usize,
    opts: PlanOptions,
    order: &mut [u32],
    cdf: &mut [f64],
    idx: &mut [u32],
    scale: &mut [f32],
) -> Result<Plan> {
    check::nonzero("k", k)?;
    let m = p.len();
    check::same_len("crs plan (order)", m, order.len())?;
    check::same_len("crs plan (cdf)", m, cdf.len())?;
    if m > u32::MAX as usize {
        return Err(Error::invalid(
            "m",
            m as f64,
            "at most 2^32 - 1 column-row pairs",
        ));
    }
    check::all_finite_f64("p", p)?;
    if let Some(i) = p.iter().position(|&v| v < 0.0) {
        return Err(Error::invalid("p", p[i], "probabilities >= 0"));
    }
    if let Some(c) = opts.tail_cutoff {
        check::closed("tail_cutoff", c, 0.0, 1.0, "in [0, 1]")?;
    }
    let need = k.min(m);
    if idx.len() < need || scale.len() < need {
        return Err(Error::CapacityExceeded {
            what: "crs plan idx/scale buffers",
            capacity: idx.len().min(scale.len()),
            needed: need,
        });
    }
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    let desc = |a: &u32, b: &u32| {
        let (pa, pb) = (p[*a as usize], p[*b as usize]);
        pb.total_cmp(&pa).then(a.cmp(b))
    };
    let positive = p.iter().filter(|&&v| v > 0.0).count();
    if positive == 0 {
        return Ok(Plan {
            len: 0,
            winners: 0,
            stochastic: 0,
            p_c: 0.0,
            exact: true,
        });
    }
    // Exact product: the budget covers every pair with positive weight.
    if k >= positive {
        order.sort_unstable_by(desc);
        for t in 0..positive {
            idx[t] = order[t];
            scale[t] = 1.0;
        }
        return Ok(Plan {
            len: positive,
            winners: positive,
            stochastic: 0,
            p_c: 1.0,
            exact: true,
        });
    }
    // Top-k first (k < positive <= m), sorted descending.
    order.select_nth_unstable_by(k - 1, desc);
    order[..k].sort_unstable_by(desc);
    let n_win = match opts.winners {
        Winners::Adaptive => adaptive_rule(k, order[..k].iter().map(|&i| p[i as usize])),
        Winners::Fixed(c) => c,
    };
    let p_c = order[..n_win.min(m)]
        .iter()
        .fold(0.0, |acc, &i| acc + p[i as usize]);
    let rest = order[n_win.min(m)..]
        .iter()
        .fold(0.0, |acc, &i| acc + p[i as usize]);
    let drop_tail = matches!(opts.tail_cutoff, Some(c) if rest < c);
    if n_win >= k && !(rest == 0.0 || drop_tail) {
        return Err(Error::invalid(
            "winners",
            n_win as f64,
            "fewer than the budget k while probability mass remains outside the winners",
        ));
    }
    for t in 0..n_win.min(k) {
        idx[t] = order[t];
        scale[t] = 1.0;
    }
    if rest == 0.0 || drop_tail {
        return Ok(Plan {
            len: n_win.min(k),
            winners: n_win.min(k),
            stochastic: 0,
            p_c,
            exact: rest == 0.0,
        });
    }
    // Stochastic remainder: inverse CDF over order[n_win..].
    let s = k - n_win;
    let rem = &order[n_win..];
    let mut acc = 0.0;
    for (c, &i) in cdf.iter_mut().zip(rem) {
        acc += p[i as usize];
        *c = acc;
    }
    let cdf = &cdf[..rem.len()];
    let last_pos = rem.iter().rposition(|&i| p[i as usize] > 0.0).unwrap_or(0);
    for t in 0..s {
        let u = seq::uniform(rng) * acc;
        let j = cdf.partition_point(|&c| c <= u).min(last_pos);
        let i = rem[j];
        idx[n_win + t] = i;
        scale[n_win + t] = (rest / (s as f64 * p[i as usize])) as f32;
    }
    Ok(Plan {
        len: k,
        winners: n_win,
        stochastic: s,
        p_c,
        exact: false,
    })
}

/// Exact CRS variance `E||CRS - AB||_F^2 = (1/k)(sum_i a_i^2 b_i^2 / p_i - ||AB||_F^2)`.
///
/// Pairs with `p_i = 0` must have `a_i b_i = 0` (they are never drawn); otherwise the estimator is
/// biased and an error is returned.
pub fn crs_variance(a: &[f64], b: &[f64], p: &[f64], k: usize, ab_fro2: f64) -> Result<f64> {
    check::nonzero("k", k)?;
    let s = weighted_sum(a, b, p, |_| true)?;
    check::non_negative("ab_fro2", ab_fro2)?;
    Ok((s - ab_fro2) / k as f64)
}

/// Exact WTA-CRS variance with winners `winners` and `s` stochastic draws:
/// `(1/s)((1 - P_C) sum_{j not in C} a_j^2 b_j^2 / p_j - ||R_C||_F^2)`.
///
/// `winners` must be distinct indices below `p.len()`; `rc_fro2 = ||sum_{j not in C} A_j B_j||_F^2`.
/// Cost O(m |C|) for the membership test (no scratch buffer).
pub fn wta_variance(
    a: &[f64],
    b: &[f64],
    p: &[f64],
    winners: &[u32],
    s: usize,
    rc_fro2: f64,
) -> Result<f64> {
    check::nonzero("s", s)?;
    check::non_negative("rc_fro2", rc_fro2)?;
    if let Some(&w) = winners.iter().find(|&&w| w as usize >= p.len()) {
        return Err(Error::invalid("winners", w as f64, "indices below m"));
    }
    let is_win = |i: usize| winners.iter().any(|&w| w as usize == i);
    let rest_mass: f64 = (0..p.len()).filter(|&i| !is_win(i)).map(|i| p[i]).sum();
    let sum = weighted_sum(a, b, p, |i| !is_win(i))?;
    Ok((rest_mass * sum - rc_fro2) / s as f64)
}

fn weighted_sum(a: &[f64], b: &[f64], p: &[f64], keep: impl Fn(usize) -> bool) -> Result<f64> {
    check::same_len("crs variance (b)", a.len(), b.len())?;
    check::same_len("crs variance (p)", a.len(), p.len())?;
    check::all_finite_f64("a_norms", a)?;
    check::all_finite_f64("b_norms", b)?;
    check::all_finite_f64("p", p)?;
    let mut s = 0.0;
    for i in 0..a.len() {
        if !keep(i) {
            continue;
        }
        let w2 = a[i] * a[i] * b[i] * b[i];
        if w2 == 0.0 {
            continue;
        }
        if p[i] <= 0.0 {
            return Err(Error::invalid(
                "p",
                p[i],
                "> 0 wherever a_i b_i > 0 (else the estimator is biased)",
            ));
        }
        s += w2 / p[i];
    }
    Ok(s)
}

/// The reduced product `out = sum_t scale[t] A[:, idx[t]] B[idx[t], :]` on the backend:
/// `a_sub = A[:, idx] * scale` (n x len), `b_sub = B[idx, :]` (len x q), one gemm.
///
/// `ones` is a slice of at least `idx.len()` ones (no allocation here). An empty plan writes zeros.
#[allow(clippy::too_many_arguments)]
pub fn sampled_matmul<B: Backend>(
    be: &B,
    a: &B::Buf<f32>,
    b: &B::Buf<f32>,
    n: usize,
    m: usize,
    q: usize,
    idx: &[u32],
    scale: &[f32],
    ones: &[f32],
    a_sub: &mut B::Buf<f32>,
    b_sub: &mut B::Buf<f32>,
    out: &mut B::Buf<f32>,
) -> Result<()> {
    let k = idx.len();
    check::same_len("sampled_matmul (scale)", k, scale.len())?;
    if ones.len() < k {
        return Err(Error::len_mismatch("sampled_matmul (ones)", k, ones.len()));
    }
    if k == 0 {
        return be.zero(out);
    }
    be.gather_cols(a, n, m, idx, scale, a_sub)?;
    be.gather_rows(b, q, idx, &ones[..k], b_sub)?;
    be.gemm(
        Transpose::No,
        Transpose::No,
        n,
        q,
        k,
        1.0,
        a_sub,
        b_sub,
        0.0,
        out,
    )
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::default_rng;

    // Spec 09 oracle matrices.
    const A: [[f64; 4]; 2] = [[1.0, 0.5, -0.2, 0.1], [2.0, -1.0, 0.3, 0.0]];
    const B: [[f64; 2]; 4] = [[1.0, 1.0], [0.5, -0.5], [0.2, 0.1], [-0.1, 0.3]];

    fn norms() -> ([f64; 4], [f64; 4]) {
        let mut a = [0.0; 4];
        let mut b = [0.0; 4];
        for i in 0..4 {
            a[i] = libm::sqrt(A[0][i] * A[0][i] + A[1][i] * A[1][i]);
            b[i] = libm::sqrt(B[i][0] * B[i][0] + B[i][1] * B[i][1]);
        }
        (a, b)
    }

    fn outer(i: usize) -> [[f64; 2]; 2] {
        let mut o = [[0.0; 2]; 2];
        for r in 0..2 {
            for c in 0..2 {
                o[r][c] = A[r][i] * B[i][c];
            }
        }
        o
    }

    fn fro2(x: &[[f64; 2]; 2]) -> f64 {
        x.iter().flatten().map(|v| v * v).sum()
    }

    #[test]
    fn oracle_probabilities_and_variances() {
        let (a, b) = norms();
        let mut p = [0.0; 4];
        probabilities(&a, Some(&b), &mut p).unwrap();
        let want = [0.777910, 0.194478, 0.019833, 0.007779];
        for i in 0..4 {
            assert!((p[i] - want[i]).abs() < 1e-6, "{p:?}");
        }
        let ab = [[1.2, 0.76], [1.56, 2.53]];
        let v1 = crs_variance(&a, &b, &p, 1, fro2(&ab)).unwrap();
        let v2 = crs_variance(&a, &b, &p, 2, fro2(&ab)).unwrap();
        assert!((v1 - 5.6728764587).abs() < 1e-9, "{v1}");
        assert!((v2 - 2.8364382294).abs() < 1e-9, "{v2}");
        // WTA with C = {0}, s = 1.
        let o0 = outer(0);
        let rc = [
            [ab[0][0] - o0[0][0], ab[0][1] - o0[0][1]],
            [ab[1][0] - o0[1][0], ab[1][1] - o0[1][1]],
        ];
        let vw = wta_variance(&a, &b, &p, &[0], 1, fro2(&rc)).unwrap();
        assert!((vw - 0.2429745074).abs() < 1e-9, "{vw}");
        // |C| = 0 equals CRS.
        let v0 = wta_variance(&a, &b, &p, &[], 2, fro2(&ab)).unwrap();
        assert!((v0 - v2).abs() < 1e-12);
    }

    #[test]
    fn wta_enumeration_matches_formula_and_is_unbiased() {
        let (a, b) = norms();
        let mut p = [0.0; 4];
        probabilities(&a, Some(&b), &mut p).unwrap();
        let ab = [[1.2, 0.76], [1.56, 2.53]];
        let pc = p[0];
        let mut mean = [[0.0; 2]; 2];
        let mut var = 0.0;
        let o0 = outer(0);
        for j in 1..4 {
            let q = p[j] / (1.0 - pc);
            let oj = outer(j);
            let mut est = [[0.0; 2]; 2];
            for r in 0..2 {
                for c in 0..2 {
                    est[r][c] = o0[r][c] + (1.0 - pc) * oj[r][c] / p[j];
                    mean[r][c] += q * est[r][c];
                }
            }
            if j == 1 {
                let want = [[1.285495, 0.714505], [1.429010, 2.570990]];
                for r in 0..2 {
                    for c in 0..2 {
                        assert!((est[r][c] - want[r][c]).abs() < 1e-6);
                    }
                }
            }
            let d = [
                [est[0][0] - ab[0][0], est[0][1] - ab[0][1]],
                [est[1][0] - ab[1][0], est[1][1] - ab[1][1]],
            ];
            var += q * fro2(&d);
        }
        for r in 0..2 {
            for c in 0..2 {
                assert!((mean[r][c] - ab[r][c]).abs() < 1e-12);
            }
        }
        assert!((var - 0.2429745074).abs() < 1e-9);
    }

    #[test]
    fn adaptive_rule_oracles() {
        assert_eq!(
            adaptive_winners(&[0.5, 0.2, 0.15, 0.1, 0.05], 3).unwrap(),
            1
        );
        assert_eq!(adaptive_winners(&[0.2; 5], 3).unwrap(), 0);
        assert_eq!(
            adaptive_winners(&[0.6, 0.3, 0.06, 0.02, 0.02], 4).unwrap(),
            3
        );
        // The plan uses the same rule.
        let p = [0.02, 0.3, 0.06, 0.6, 0.02];
        let mut rng = default_rng(1);
        let (mut order, mut cdf, mut idx, mut scale) = ([0u32; 5], [0.0; 5], [0u32; 4], [0f32; 4]);
        let pl = plan(
            &mut rng,
            &p,
            4,
            PlanOptions::default(),
            &mut order,
            &mut cdf,
            &mut idx,
            &mut scale,
        )
        .unwrap();
        assert_eq!((pl.winners, pl.stochastic, pl.len), (3, 1, 4));
        assert_eq!(&idx[..3], &[3, 1, 2]);
        let j = idx[3] as usize;
        assert!(j == 0 || j == 4);
        let want = ((0.04 / 0.02) as f32, 1.0f32);
        assert!((scale[3] - want.0).abs() < 1e-6 && scale[0] == want.1);
    }

    #[test]
    fn plan_edge_cases_and_errors() {
        let mut rng = default_rng(2);
        let (mut order, mut cdf, mut idx, mut scale) = ([0u32; 4], [0.0; 4], [0u32; 4], [0f32; 4]);
        let p = [0.5, 0.0, 0.5, 0.0];
        // Budget covers all positive pairs: exact.
        let pl = plan(
            &mut rng,
            &p,
            2,
            PlanOptions::default(),
            &mut order,
            &mut cdf,
            &mut idx,
            &mut scale,
        )
        .unwrap();
        assert!(pl.exact && pl.len == 2);
        // All zero: empty.
        let pl = plan(
            &mut rng,
            &[0.0; 4],
            2,
            PlanOptions::default(),
            &mut order,
            &mut cdf,
            &mut idx,
            &mut scale,
        )
        .unwrap();
        assert_eq!(pl.len, 0);
        let p = [0.4, 0.3, 0.2, 0.1];
        let fixed = |c| PlanOptions {
            winners: Winners::Fixed(c),
            tail_cutoff: None,
        };
        assert!(matches!(
            plan(
                &mut rng,
                &p,
                2,
                fixed(2),
                &mut order,
                &mut cdf,
                &mut idx,
                &mut scale
            ),
            Err(Error::InvalidParam {
                name: "winners",
                ..
            })
        ));
        assert!(matches!(
            plan(
                &mut rng,
                &p,
                0,
                fixed(0),
                &mut order,
                &mut cdf,
                &mut idx,
                &mut scale
            ),
            Err(Error::InvalidParam { name: "k", .. })
        ));
        assert!(matches!(
            plan(
                &mut rng,
                &[0.5, f64::NAN, 0.2, 0.3],
                2,
                fixed(0),
                &mut order,
                &mut cdf,
                &mut idx,
                &mut scale
            ),
            Err(Error::NonFinite { .. })
        ));
        let (mut i1, mut s1) = ([0u32; 1], [0f32; 1]);
        assert!(matches!(
            plan(
                &mut rng,
                &p,
                2,
                fixed(0),
                &mut order,
                &mut cdf,
                &mut i1,
                &mut s1
            ),
            Err(Error::CapacityExceeded { .. })
        ));
        let mut p2 = [0.0; 2];
        assert!(matches!(
            probabilities(&[1.0, f64::INFINITY], None, &mut p2),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            probabilities(&[1.0, 1.0], Some(&[1.0]), &mut p2),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(crs_variance(&[1.0], &[1.0], &[0.0], 1, 0.0).is_err());
        assert_eq!(budget(256, 0.3, 10).unwrap(), 76);
        assert_eq!(budget(20, 0.1, 10).unwrap(), 10);
        assert!(budget(20, 1.5, 10).is_err());
    }

    /// Monte Carlo: mean over draws within 5 SE of AB; empirical variance matches the formula.
    #[test]
    fn monte_carlo_unbiased_and_variance() {
        let (a, b) = norms();
        let mut p = [0.0; 4];
        probabilities(&a, Some(&b), &mut p).unwrap();
        let ab = [[1.2, 0.76], [1.56, 2.53]];
        let mut rng = default_rng(11);
        let (mut order, mut cdf, mut idx, mut scale) = ([0u32; 4], [0.0; 4], [0u32; 2], [0f32; 2]);
        let n = 100_000;
        for (opts, want_var) in [
            (
                PlanOptions {
                    winners: Winners::Fixed(0),
                    tail_cutoff: None,
                },
                2.8364382294,
            ),
            (
                PlanOptions {
                    winners: Winners::Fixed(1),
                    tail_cutoff: None,
                },
                0.2429745074,
            ),
        ] {
            let mut sum = [[0.0; 2]; 2];
            let mut sq = [[0.0; 2]; 2];
            let mut err2 = 0.0;
            for _ in 0..n {
                let pl = plan(
                    &mut rng, &p, 2, opts, &mut order, &mut cdf, &mut idx, &mut scale,
                )
                .unwrap();
                let mut est = [[0.0; 2]; 2];
                for t in 0..pl.len {
                    let o = outer(idx[t] as usize);
                    for r in 0..2 {
                        for c in 0..2 {
                            est[r][c] += scale[t] as f64 * o[r][c];
                        }
                    }
                }
                for r in 0..2 {
                    for c in 0..2 {
                        sum[r][c] += est[r][c];
                        sq[r][c] += est[r][c] * est[r][c];
                        err2 += (est[r][c] - ab[r][c]) * (est[r][c] - ab[r][c]);
                    }
                }
            }
            for r in 0..2 {
                for c in 0..2 {
                    let m = sum[r][c] / n as f64;
                    let v = sq[r][c] / n as f64 - m * m;
                    let se = libm::sqrt(v / n as f64);
                    assert!(
                        (m - ab[r][c]).abs() < 5.0 * se + 1e-6,
                        "mean {m} vs {} (se {se})",
                        ab[r][c]
                    );
                }
            }
            let emp = err2 / n as f64;
            // Relative SE of a variance estimate with n = 1e5 is ~1%; 5% is > 4 SE here.
            assert!(
                (emp / want_var - 1.0).abs() < 0.05,
                "emp {emp} want {want_var}"
            );
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn sampled_matmul_exact_plan_equals_gemm() {
        use crate::backend::CpuBackend;
        let be = CpuBackend::new();
        let a: alloc::vec::Vec<f32> = A.iter().flatten().map(|&v| v as f32).collect();
        let b: alloc::vec::Vec<f32> = B.iter().flatten().map(|&v| v as f32).collect();
        let (ab, bb) = (be.upload(&a).unwrap(), be.upload(&b).unwrap());
        let mut a_sub = be.alloc::<f32>(2 * 2).unwrap();
        let mut b_sub = be.alloc::<f32>(2 * 2).unwrap();
        let mut out = be.alloc::<f32>(4).unwrap();
        // Estimate from the j = 1 draw of the spec: C = {0}, scale (1 - P_C)/p_1.
        let (an, bn) = norms();
        let mut p = [0.0; 4];
        probabilities(&an, Some(&bn), &mut p).unwrap();
        let sc = ((1.0 - p[0]) / p[1]) as f32;
        sampled_matmul(
            &be,
            &ab,
            &bb,
            2,
            4,
            2,
            &[0, 1],
            &[1.0, sc],
            &[1.0; 2],
            &mut a_sub,
            &mut b_sub,
            &mut out,
        )
        .unwrap();
        let mut host = [0f32; 4];
        be.download(&out, &mut host).unwrap();
        let want = [1.285495, 0.714505, 1.429010, 2.570990];
        for i in 0..4 {
            assert!((host[i] as f64 - want[i]).abs() < 1e-5, "{host:?}");
        }
    }
}
