//! Golden cases of the in-context-learning area (spec 01, spec 12): sampled tasks, every
//! predictor on them, a short LSA training, and the optimal preconditioner.

use anyhow::Result;
use noisekit::icl::chol::cholesky_in_place;
use noisekit::icl::gd::optimal_gamma;
use noisekit::icl::knn::KnnWeighting;
use noisekit::icl::predictor::Predictor;
use noisekit::icl::task::{Response, TaskBatch, TaskSpec, WCov, XCov};
use noisekit::icl::train::{train_lsa, LsaTrainConfig};
use noisekit::rng::default_rng;
use serde_json::{json, Value};

use super::GoldenCase;

fn tasks() -> Result<Value> {
    let iso = TaskBatch::sample(&mut default_rng(61), &TaskSpec::isotropic(3, 4, 0.5), 2)?;
    let mut l = [2.0, 0.5, 0.0, 0.5, 1.0, 0.2, 0.0, 0.2, 0.5];
    cholesky_in_place(&mut l, 3, "x_cov")?;
    let spec = TaskSpec {
        x_cov: XCov::Chol(&l),
        w_cov: WCov::InverseOfX,
        response: Response::Cubic { c: 0.1 },
        ..TaskSpec::isotropic(3, 4, 0.1)
    };
    let aniso = TaskBatch::sample(&mut default_rng(62), &spec, 2)?;
    let j = |t: &TaskBatch| json!({ "x": t.x, "y": t.y, "xq": t.xq, "yq": t.yq, "w": t.w });
    Ok(json!({ "isotropic": j(&iso), "anisotropic_cubic": j(&aniso) }))
}

fn predictors() -> Result<Value> {
    let t = TaskBatch::sample(&mut default_rng(63), &TaskSpec::isotropic(4, 6, 0.5), 3)?;
    let ps = [
        ("gd1", Predictor::Gd1 { eta: 0.6 }),
        ("gd3", Predictor::GdSteps { eta: 0.5, k: 3 }),
        ("ridge_0.25", Predictor::Ridge { lambda: 0.25 }),
        ("ols", Predictor::Ols),
        (
            "sgd",
            Predictor::Sgd {
                alpha: 0.02,
                weight_decay: 0.0,
                clip: 20.0,
            },
        ),
        (
            "knn3",
            Predictor::Knn {
                k: 3,
                weighting: KnnWeighting::Distance,
            },
        ),
    ];
    let mut m = serde_json::Map::new();
    for (name, p) in ps {
        let mut o = vec![0.0; t.b];
        p.predict_batch(&t, &mut o)?;
        m.insert(name.into(), json!(o));
    }
    Ok(Value::Object(m))
}

fn lsa_training() -> Result<Value> {
    let cfg = LsaTrainConfig {
        steps: 40,
        batch: 16,
        ..LsaTrainConfig::default()
    };
    let mut losses = Vec::new();
    let p = train_lsa(
        &mut default_rng(64),
        &TaskSpec::isotropic(2, 5, 0.5),
        &cfg,
        |_, l| losses.push(l),
    )?;
    Ok(json!({ "v": p.v, "bq": p.bq, "last_losses": losses[losses.len() - 3..] }))
}

fn gamma_star() -> Result<Value> {
    let sx = [2.0, 0.5, 0.5, 1.0];
    let sw = [1.0, 0.0, 0.0, 3.0];
    let mut g = [0.0; 4];
    optimal_gamma(&sx, &sw, 2, 10, 0.25, &mut g, &mut [0.0; 8])?;
    Ok(json!(g))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "icl_tasks",
            rel_tol: 1e-12,
            produce: tasks,
        },
        GoldenCase {
            name: "icl_predictors",
            rel_tol: 1e-10,
            produce: predictors,
        },
        GoldenCase {
            name: "icl_lsa_training",
            rel_tol: 1e-9,
            produce: lsa_training,
        },
        GoldenCase {
            name: "icl_gamma_star",
            rel_tol: 1e-12,
            produce: gamma_star,
        },
    ]
}
