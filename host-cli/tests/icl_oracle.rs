//! The in-context-learning predictors against external oracle values
//! (`fixtures/oracle/icl_predictors.json`, made by `icl_predictors.py` with numpy and scikit-learn).

use noisekit::icl::gd::{gd_steps_weights, optimal_gamma};
use noisekit::icl::knn::{knn_predict, KnnWeighting};
use noisekit::icl::lsa::{lsa_forward_full, lsa_predict, params_from_full};
use noisekit::icl::ridge::{ols_weights, ridge_scratch_len, ridge_weights};
use noisekit::icl::sgd::sgd_one_pass_weights;
use serde_json::Value;

fn load() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/oracle/icl_predictors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("oracle file")).expect("json")
}

fn vecf(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn usz(v: &Value) -> usize {
    v.as_u64().expect("integer") as usize
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn ridge_ols_gd_sgd_knn_match_sklearn_and_numpy() {
    let o = load();
    let t = &o["task"];
    let (n, d) = (usz(&t["n"]), usz(&t["d"]));
    let (x, y, xq) = (vecf(&t["x"]), vecf(&t["y"]), vecf(&t["xq"]));
    let mut w = vec![0.0; d];
    let mut ws = vec![0.0; ridge_scratch_len(n, d)];
    for case in t["ridge"].as_array().unwrap() {
        let lam = case["lambda"].as_f64().unwrap();
        ridge_weights(&x, &y, n, d, lam, &mut ws, &mut w).unwrap();
        assert_close(&w, &vecf(&case["w"]), 1e-10, &format!("ridge {lam}"));
    }
    ols_weights(&x, &y, n, d, &mut w).unwrap();
    assert_close(&w, &vecf(&t["ols_w"]), 1e-10, "ols");
    let mut r = vec![0.0; n];
    for case in t["gd"].as_array().unwrap() {
        gd_steps_weights(
            &x,
            &y,
            n,
            d,
            case["eta"].as_f64().unwrap(),
            usz(&case["k"]),
            &mut w,
            &mut r,
        )
        .unwrap();
        assert_close(&w, &vecf(&case["w"]), 1e-12, "gd");
    }
    let s = &t["sgd"];
    sgd_one_pass_weights(
        &x,
        &y,
        n,
        d,
        s["alpha"].as_f64().unwrap(),
        s["weight_decay"].as_f64().unwrap(),
        s["clip"].as_f64().unwrap(),
        &mut w,
    )
    .unwrap();
    assert_close(&w, &vecf(&s["w"]), 1e-12, "sgd");
    for case in t["knn"].as_array().unwrap() {
        let wt = match case["weighting"].as_str().unwrap() {
            "uniform" => KnnWeighting::Uniform,
            _ => KnnWeighting::Distance,
        };
        let p = knn_predict(&x, &y, &xq, n, d, usz(&case["k"]), wt).unwrap();
        assert_close(&[p], &[case["pred"].as_f64().unwrap()], 1e-12, "knn");
    }
}

#[test]
fn min_norm_lsa_and_gamma_match_numpy() {
    let o = load();
    let m = &o["minnorm"];
    let (n, d) = (usz(&m["n"]), usz(&m["d"]));
    let (x, y) = (vecf(&m["x"]), vecf(&m["y"]));
    let mut w = vec![0.0; d];
    ols_weights(&x, &y, n, d, &mut w).unwrap();
    assert_close(&w, &vecf(&m["w"]), 1e-10, "min-norm ols");
    ridge_weights(
        &x,
        &y,
        n,
        d,
        0.0,
        &mut vec![0.0; ridge_scratch_len(n, d)],
        &mut w,
    )
    .unwrap();
    assert_close(
        &w,
        &vecf(&m["w"]),
        1e-10,
        "min-norm via dual normal equations",
    );
    ridge_weights(
        &x,
        &y,
        n,
        d,
        0.5,
        &mut vec![0.0; ridge_scratch_len(n, d)],
        &mut w,
    )
    .unwrap();
    assert_close(&w, &vecf(&m["ridge_0p5_w"]), 1e-10, "dual ridge");

    let l = &o["lsa"];
    let (n, d) = (usz(&l["n"]), usz(&l["d"]));
    let (x, y, xq, wkq, wpv) = (
        vecf(&l["x"]),
        vecf(&l["y"]),
        vecf(&l["xq"]),
        vecf(&l["wkq"]),
        vecf(&l["wpv"]),
    );
    let (mut v, mut bq, mut u) = (vec![0.0; d + 1], vec![0.0; (d + 1) * d], vec![0.0; d + 1]);
    params_from_full(&wkq, &wpv, d, &mut v, &mut bq).unwrap();
    for (key, masked) in [("unmasked", false), ("masked", true)] {
        let want = l[key].as_f64().unwrap();
        let full = lsa_forward_full(&wkq, &wpv, &x, &y, &xq, n, d, masked).unwrap();
        assert_close(&[full[d * (n + 1) + n]], &[want], 1e-12, key);
        let red = lsa_predict(&v, &bq, &x, &y, &xq, n, d, masked, &mut u).unwrap();
        assert_close(&[red], &[want], 1e-12, key);
    }

    let g = &o["gamma"];
    let (d, n) = (usz(&g["d"]), usz(&g["n"]));
    let mut out = vec![0.0; d * d];
    optimal_gamma(
        &vecf(&g["sigma_x"]),
        &vecf(&g["sigma_w"]),
        d,
        n,
        g["sigma2"].as_f64().unwrap(),
        &mut out,
        &mut vec![0.0; 2 * d * d],
    )
    .unwrap();
    assert_close(&out, &vecf(&g["gamma"]), 1e-10, "gamma*");
}
