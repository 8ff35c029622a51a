//! The four repros of the update-rules area at quick scale on a non-default seed: PASS, and the
//! result files written. (sgd-sai takes ~10 s and gradient-noise ~35 s of CPU in release.)

mod common;

use common::run_quick;

#[test]
fn benign_oscillation_quick() {
    run_quick("benign-oscillation", 17, 1, &[]);
}

#[test]
fn sgd_noise_regimes_quick() {
    run_quick("sgd-noise-regimes", 17, 1, &[]);
}

#[test]
fn sgd_sai_quick() {
    run_quick("sgd-sai", 17, 1, &[]);
}

#[test]
fn gradient_noise_quick() {
    run_quick("gradient-noise", 17, 1, &[]);
}
