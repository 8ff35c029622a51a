//! FedSVD's server step (Lee et al. 2025, arXiv:2505.12805): re-factorise the aggregated LoRA
//! product `M = B A` as `B' = U_r S_r`, `A' = V_r^T` from its thin SVD, so `B'A' = BA`, `A'` has
//! orthonormal rows and `B'`'s columns are orthogonal with norms `S_1 >= ... >= S_r`.
//!
//! Computed by the cheap QR route (spec 14 §3): `B = Q_B R_B`, `A^T = Q_A R_A`, SVD of the `r x r`
//! core `R_B R_A^T = U_c S V_c^T`, then `B' = Q_B U_c S`, `A' = (Q_A V_c)^T`. Cost
//! `O((d_out + d_in) r^2 + r^3)` instead of an SVD of the `d_out x d_in` product. Rows of `A'` stay
//! inside `row(A)` even when `rank(M) < r` (the QR basis completes them), and `M = 0` keeps the old
//! `A` orthonormalised. Signs are canonical: the largest-magnitude entry of each row of `A'` is
//! positive (the matching column of `B'` flips with it), so results are deterministic.
//! Uses nalgebra's QR and SVD (needs `alloc`).

use alloc::vec::Vec;

use nalgebra::DMatrix;

use crate::error::{check, Error, Result};

/// The re-factorised pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Refactored {
    /// `B'` (`d_out x r`, row-major).
    pub b: Vec<f64>,
    /// `A'` (`r x d_in`, row-major, orthonormal rows).
    pub a: Vec<f64>,
    /// Singular values of `BA`, descending.
    pub singular_values: Vec<f64>,
}

/// Re-factorises `B` (`d_out x r`) and `A` (`r x d_in`) as described in the module docs.
pub fn svd_refactor(
    b: &[f64],
    a: &[f64],
    d_out: usize,
    d_in: usize,
    r: usize,
) -> Result<Refactored> {
    if r == 0 || r > d_in.min(d_out) {
        return Err(Error::invalid(
            "r",
            r as f64,
            "a rank in 1..=min(d_in, d_out)",
        ));
    }
    check::same_len("B", d_out * r, b.len())?;
    check::same_len("A", r * d_in, a.len())?;
    check::all_finite_f64("B", b)?;
    check::all_finite_f64("A", a)?;
    let bm = DMatrix::from_row_slice(d_out, r, b);
    let at = DMatrix::from_row_slice(r, d_in, a).transpose();
    let (q_b, r_b) = bm.qr().unpack();
    let (q_a, r_a) = at.qr().unpack();
    let core = &r_b * r_a.transpose();
    let svd = nalgebra::linalg::SVD::try_new(core, true, true, f64::EPSILON, 10_000)
        .ok_or(Error::Numerical("SVD of the r x r core did not converge"))?;
    let (Some(u_c), Some(v_t_c)) = (svd.u, svd.v_t) else {
        return Err(Error::Numerical("SVD did not return singular vectors"));
    };
    // nalgebra does not sort singular values: order them descending.
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&i, &j| svd.singular_values[j].total_cmp(&svd.singular_values[i]));
    let s: Vec<f64> = order.iter().map(|&i| svd.singular_values[i]).collect();
    let b_rot = &q_b * &u_c; // d_out x r
    let a_rot = (&q_a * v_t_c.transpose()).transpose(); // r x d_in
    let mut b_new = DMatrix::<f64>::zeros(d_out, r);
    let mut a_new = DMatrix::<f64>::zeros(r, d_in);
    for (k, &i) in order.iter().enumerate() {
        let mut row = a_rot.row(i).clone_owned();
        let mut col = b_rot.column(i) * svd.singular_values[i];
        let pivot = row.iter().copied().fold(
            0.0f64,
            |best, v| if v.abs() > best.abs() { v } else { best },
        );
        if pivot < 0.0 {
            row.neg_mut();
            col.neg_mut();
        }
        a_new.set_row(k, &row);
        b_new.set_column(k, &col);
    }
    let to_rows = |m: &DMatrix<f64>| -> Vec<f64> {
        let mut v = Vec::with_capacity(m.len());
        for i in 0..m.nrows() {
            v.extend(m.row(i).iter());
        }
        v
    };
    Ok(Refactored {
        b: to_rows(&b_new),
        a: to_rows(&a_new),
        singular_values: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn matmul(x: &[f64], y: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * m];
        for i in 0..n {
            for p in 0..k {
                for j in 0..m {
                    out[i * m + j] += x[i * k + p] * y[p * m + j];
                }
            }
        }
        out
    }

    #[test]
    fn spec_oracle_case_one() {
        let b = [1., 2., 0., 1., 3., -1.];
        let a = [1., 0., 2., 0., 0., 1., 0., -1.];
        let f = svd_refactor(&b, &a, 3, 4, 2).unwrap();
        assert!((f.singular_values[0] - 7.089_524_686_766).abs() < 1e-11);
        assert!((f.singular_values[1] - 3.426_169_831_713).abs() < 1e-11);
        let m = matmul(&b, &a, 3, 2, 4);
        let m2 = matmul(&f.b, &f.a, 3, 2, 4);
        assert!(m.iter().zip(&m2).all(|(x, y)| (x - y).abs() < 1e-13));
        // A'A'^T = I and the projector A'^T A' equals the spec's projector onto row(A).
        let aat = matmul(&f.a, &transpose(&f.a, 2, 4), 2, 4, 2);
        assert!(
            (aat[0] - 1.0).abs() < 1e-14 && aat[1].abs() < 1e-14 && (aat[3] - 1.0).abs() < 1e-14
        );
        let proj = matmul(&transpose(&f.a, 2, 4), &f.a, 4, 2, 4);
        let want = [
            0.2, 0., 0.4, 0., 0., 0.5, 0., -0.5, 0.4, 0., 0.8, 0., 0., -0.5, 0., 0.5,
        ];
        assert!(proj.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-13));
        let fro: f64 = f.b.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((fro - 7.874_007_874_011_811).abs() < 1e-12);
        // Canonical signs: the spec's numpy A' rows up to sign, largest entry positive.
        let a0 = [
            0.445_693_936_479,
            -0.058_243_346_965,
            0.891_387_872_957,
            0.058_243_346_965,
        ];
        assert!(f.a[..4].iter().zip(a0).all(|(x, y)| (x - y).abs() < 1e-11));
    }

    fn transpose(x: &[f64], n: usize, m: usize) -> Vec<f64> {
        let mut t = vec![0.0; n * m];
        for i in 0..n {
            for j in 0..m {
                t[j * n + i] = x[i * m + j];
            }
        }
        t
    }

    #[test]
    fn zero_product_keeps_orthonormal_old_a_and_refactor_is_idempotent() {
        let a = [1., 0., 2., 0., 0., 1., 0., -1.];
        let f = svd_refactor(&[0.0; 6], &a, 3, 4, 2).unwrap();
        assert!(f.b.iter().all(|v| *v == 0.0));
        let proj = matmul(&transpose(&f.a, 2, 4), &f.a, 4, 2, 4);
        assert!((proj[0] - 0.2).abs() < 1e-13 && (proj[5] - 0.5).abs() < 1e-13);
        let b = [1., 2., 0., 1., 3., -1.];
        let f1 = svd_refactor(&b, &a, 3, 4, 2).unwrap();
        let f2 = svd_refactor(&f1.b, &f1.a, 3, 4, 2).unwrap();
        assert!(f1.a.iter().zip(&f2.a).all(|(x, y)| (x - y).abs() < 1e-12));
        assert!(f1.b.iter().zip(&f2.b).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    #[test]
    fn qr_route_agrees_with_dense_svd_of_the_product() {
        let mut rng = crate::rng::default_rng(5);
        let (d_out, d_in, r) = (8, 32, 4);
        let mut b = vec![0.0; d_out * r];
        let mut a = vec![0.0; r * d_in];
        crate::rng::seq::fill_gaussian_f64(&mut rng, 1.0, &mut b).unwrap();
        crate::rng::seq::fill_gaussian_f64(&mut rng, 0.2, &mut a).unwrap();
        let f = svd_refactor(&b, &a, d_out, d_in, r).unwrap();
        let m = DMatrix::from_row_slice(d_out, d_in, &matmul(&b, &a, d_out, r, d_in));
        let mut dense = m
            .clone()
            .svd(false, false)
            .singular_values
            .as_slice()
            .to_vec();
        dense.sort_by(|x, y| y.total_cmp(x));
        for k in 0..r {
            assert!((dense[k] - f.singular_values[k]).abs() < 1e-12 * dense[0]);
        }
        let m2 = matmul(&f.b, &f.a, d_out, r, d_in);
        assert!(m.as_slice().len() == m2.len());
        let mt = m.transpose(); // column-major storage of m is row-major of m^T
        let rows: Vec<f64> = mt.as_slice().to_vec();
        assert!(rows.iter().zip(&m2).all(|(x, y)| (x - y).abs() < 1e-12));
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(svd_refactor(&[0.0; 6], &[0.0; 8], 3, 4, 3).is_err());
        assert!(matches!(
            svd_refactor(&[f64::NAN; 6], &[0.0; 8], 3, 4, 2),
            Err(Error::NonFinite { what: "B", .. })
        ));
    }
}
