//! Golden cases of the label-noise and robust-recovery area: label-noise samplers, ELR, NMTune
//! regularisers and spectrum, the sensing sampler and a short SubGM run.

use anyhow::Result;
use noisekit::backend::CpuBackend;
use noisekit::rng::default_rng;
use noisekit::robust::elr::{elr_step, ElrConfig, ElrGrad, ElrShape};
use noisekit::robust::label_noise::{self, PairSelect, SymStyle, CIFAR10_PAIRS};
use noisekit::robust::nmtune::{regularizers, NmtuneWeights};
use noisekit::robust::sensing::{orthonormalize_columns, Outlier, SensingProblem, SensingSpec};
use noisekit::robust::spectrum::{feature_spectrum, Centering};
use noisekit::robust::subgm::{self, LossKind, Schedule, SensingOperator, SubgmConfig, Truth};
use serde_json::{json, Value};

use super::GoldenCase;

fn label_noise_samplers() -> Result<Value> {
    let clean: Vec<u32> = (0..40).map(|i| (i % 10) as u32).collect();
    let (mut noisy, mut cor) = (vec![0u32; 40], vec![false; 40]);
    let mut rng = default_rng(2026);
    let sym = label_noise::symmetric(
        &mut rng,
        &clean,
        10,
        0.4,
        SymStyle::Code,
        &mut noisy,
        &mut cor,
    )?;
    let sym_labels = noisy.clone();
    let exc = label_noise::symmetric(
        &mut rng,
        &clean,
        10,
        0.4,
        SymStyle::Exclusive,
        &mut noisy,
        &mut cor,
    )?;
    let exc_labels = noisy.clone();
    let pair = label_noise::pair_flip(
        &mut rng,
        &clean,
        10,
        &CIFAR10_PAIRS,
        0.5,
        PairSelect::Clean,
        &mut noisy,
        &mut cor,
    )?;
    let pair_labels = noisy.clone();
    let cyc = label_noise::cyclic_blocks(&mut rng, &clean, 10, 5, 0.4, &mut noisy, &mut cor)?;
    Ok(json!({
        "symmetric": { "labels": sym_labels, "rate": sym.realised_rate },
        "exclusive": { "labels": exc_labels, "rate": exc.realised_rate },
        "pair_cifar10": { "labels": pair_labels, "rate": pair.realised_rate },
        "cyclic": { "labels": noisy, "rate": cyc.realised_rate },
    }))
}

fn elr_batch() -> Result<Value> {
    // N = 4 examples, C = 3, two steps on overlapping batches.
    let mut t = vec![0.0; 12];
    let cfg = ElrConfig {
        beta: 0.7,
        lambda: 3.0,
    };
    let shape = ElrShape {
        examples: 4,
        classes: 3,
    };
    let mut g1 = vec![0.0; 9];
    let l1 = elr_step(
        &cfg,
        ElrGrad::Exact,
        shape,
        &mut t,
        &[0, 2, 3],
        &[2.0, 1.0, 0.1, -1.0, 0.5, 3.0, 0.0, 0.0, 9.5],
        &[0, 1, 2],
        &mut g1,
    )?;
    let mut g2 = vec![0.0; 6];
    let l2 = elr_step(
        &cfg,
        ElrGrad::Analytic,
        shape,
        &mut t,
        &[2, 1],
        &[0.3, 0.2, -0.7, 1.5, -1.5, 0.0],
        &[2, 0],
        &mut g2,
    )?;
    Ok(json!({
        "loss1": [l1.ce, l1.reg, l1.total], "grad1": g1,
        "loss2": [l2.ce, l2.reg, l2.total], "grad2": g2, "targets": t,
    }))
}

fn nmtune_regs_and_spectrum() -> Result<Value> {
    let (n, d) = (6, 4);
    let z: Vec<f64> = (0..n * d)
        .map(|i| ((i * 7 + 3) % 11) as f64 / 5.0 - 1.0)
        .collect();
    let f: Vec<f64> = (0..n * d)
        .map(|i| ((i * 5 + 1) % 9) as f64 / 4.0 - 0.8)
        .collect();
    let mut grad = vec![0.0; n * d];
    let r = regularizers(
        &z,
        &f,
        n,
        d,
        &NmtuneWeights {
            k: 2,
            ..NmtuneWeights::default()
        },
        Some(&mut grad),
    )?;
    let s = feature_spectrum(&z, n, d, true, Centering::PerSample)?;
    Ok(json!({
        "mse": r.mse, "cov": r.cov, "svd": r.svd, "total": r.total, "grad": grad,
        "sv": s.sv, "sve": s.sve, "lsvr": s.lsvr,
    }))
}

fn subgm_short_run() -> Result<Value> {
    let spec = SensingSpec {
        d: 5,
        r: 2,
        m: 60,
        p: 0.2,
        outlier: Outlier::Gaussian { std: 10.0 },
        sigma: 0.01,
    };
    let mut rng = default_rng(7);
    let pr = SensingProblem::sample(&mut rng, spec)?;
    let mut basis = pr.u_star.clone();
    orthonormalize_columns(&mut basis, 5, 2)?;
    let mut u = vec![0.0; 5 * 3];
    subgm::small_init(&mut rng, 5, 3, 1e-2, &mut u)?;
    let be = CpuBackend::new();
    let mut op = SensingOperator::new(&be, &pr.a, &pr.y, 5)?;
    let cfg = SubgmConfig {
        loss: LossKind::L1,
        schedule: Schedule::Geometric {
            eta0: 0.1,
            rho: 0.99,
        },
        iters: 200,
        trace_every: 50,
    };
    let tr = subgm::run(
        &be,
        &mut op,
        &mut u,
        3,
        &cfg,
        Some(Truth {
            x_star: &pr.x_star,
            basis: &basis,
            r: 2,
        }),
    )?;
    Ok(json!({
        "y_head": &pr.y[..6], "outliers": pr.outliers,
        "trace": tr.iter().map(|p| json!([p.iter, p.loss, p.rel_err, p.perp])).collect::<Vec<_>>(),
        "u": u,
    }))
}

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    vec![
        GoldenCase {
            name: "robust_label_noise",
            rel_tol: 0.0,
            produce: label_noise_samplers,
        },
        GoldenCase {
            name: "robust_elr",
            rel_tol: 1e-12,
            produce: elr_batch,
        },
        GoldenCase {
            name: "robust_nmtune",
            rel_tol: 1e-10,
            produce: nmtune_regs_and_spectrum,
        },
        // f32 gemm inside the run: a looser tolerance across CPUs.
        GoldenCase {
            name: "robust_subgm",
            rel_tol: 1e-5,
            produce: subgm_short_run,
        },
    ]
}
