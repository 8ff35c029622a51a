//! k-nearest-neighbour in-context predictor (scikit-learn `KNeighborsRegressor` semantics, the kNN
//! baseline of Akyürek et al. 2022, arXiv 2211.15661).
//!
//! `k_eff = min(k, n)` Euclidean nearest context points (ties to the lower index, stable).
//! Uniform: `y_hat = mean of their y`. Distance: weights `1 / dist`; if any distance is exactly 0,
//! only the zero-distance points count, equally weighted. Not linear in the query, so it has no
//! weight vector. Cost: `O(n d + n k)` per query, no allocation (selection by repeated scans).

use crate::error::{check, Result};

/// How the neighbours' labels are averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnnWeighting {
    /// Plain mean.
    Uniform,
    /// Inverse-distance weights.
    Distance,
}

/// The kNN prediction at `xq`.
pub fn knn_predict(
    x: &[f64],
    y: &[f64],
    xq: &[f64],
    n: usize,
    d: usize,
    k: usize,
    weighting: KnnWeighting,
) -> Result<f64> {
    check::nonzero("n", n)?;
    check::nonzero("d", d)?;
    check::nonzero("k", k)?;
    check::same_len("x (n*d)", n * d, x.len())?;
    check::same_len("y", n, y.len())?;
    check::same_len("x_q", d, xq.len())?;
    let dist = |i: usize| {
        let r = &x[i * d..(i + 1) * d];
        libm::sqrt(
            r.iter()
                .zip(xq)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>(),
        )
    };
    let k = k.min(n);
    // Select the k smallest (distance, index) pairs in order by repeated scans: the j-th pick is
    // the smallest pair strictly greater than the previous pick in lexicographic order.
    let (mut last_d, mut last_i) = (f64::NEG_INFINITY, usize::MAX);
    let (mut sum_w, mut sum_wy, mut zero_n, mut zero_y) = (0.0, 0.0, 0usize, 0.0);
    for _ in 0..k {
        let mut best: Option<(f64, usize)> = None;
        for i in 0..n {
            let di = dist(i);
            let after = di > last_d || (di == last_d && (last_i == usize::MAX || i > last_i));
            if after && best.is_none_or(|(bd, bi)| di < bd || (di == bd && i < bi)) {
                best = Some((di, i));
            }
        }
        let Some((bd, bi)) = best else { break };
        (last_d, last_i) = (bd, bi);
        let yi = y[bi];
        if bd == 0.0 {
            zero_n += 1;
            zero_y += yi;
        }
        let wgt = match weighting {
            KnnWeighting::Uniform => 1.0,
            KnnWeighting::Distance => 1.0 / bd,
        };
        sum_w += wgt;
        sum_wy += wgt * yi;
    }
    if weighting == KnnWeighting::Distance && zero_n > 0 {
        return Ok(zero_y / zero_n as f64);
    }
    check::finite("x (distances)", sum_w)?;
    Ok(sum_wy / sum_w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    const Y: [f64; 3] = [1.0, 2.0, 2.0];

    #[test]
    fn spec_12_oracle_and_weighting() {
        // Distances to [1, 2]: [2, 1.414214, 1] -> examples 3 and 2 -> (2 + 2)/2.
        assert_eq!(
            knn_predict(&X, &Y, &[1.0, 2.0], 3, 2, 2, KnnWeighting::Uniform).unwrap(),
            2.0
        );
        // k > n uses all three.
        assert!(
            (knn_predict(&X, &Y, &[1.0, 2.0], 3, 2, 5, KnnWeighting::Uniform).unwrap() - 5.0 / 3.0)
                .abs()
                < 1e-15
        );
        // Distance weights: (1*2 + 2^-0.5 * 2) / (1 + 2^-0.5) = 2.
        let y2 = [1.0, 3.0, 2.0];
        let want = (2.0 + 3.0 / 2f64.sqrt()) / (1.0 + 1.0 / 2f64.sqrt());
        assert!(
            (knn_predict(&X, &y2, &[1.0, 2.0], 3, 2, 2, KnnWeighting::Distance).unwrap() - want)
                .abs()
                < 1e-14
        );
        // Exact hit: only the zero-distance point counts.
        assert_eq!(
            knn_predict(&X, &y2, &[0.0, 1.0], 3, 2, 3, KnnWeighting::Distance).unwrap(),
            3.0
        );
        // Ties go to the lower index: x_q = [0.5, 0.5] is at distance 0.7071 from examples 1, 2, 3.
        assert_eq!(
            knn_predict(
                &X,
                &[1.0, 2.0, 9.0],
                &[0.5, 0.5],
                3,
                2,
                1,
                KnnWeighting::Uniform
            )
            .unwrap(),
            1.0
        );
        assert!(knn_predict(&X, &Y, &[1.0, 2.0], 3, 2, 0, KnnWeighting::Uniform).is_err());
    }
}
