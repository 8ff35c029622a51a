//! The score area's repros at quick scale on a non-default seed: each must pass and write its files.

mod common;

use common::run_quick;

#[test]
fn noise2score_quick() {
    run_quick("noise2score", 5, 1, &[]);
}

#[test]
fn golden_noise_quick() {
    run_quick("golden-noise", 5, 1, &[]);
}

#[test]
fn ambient_scaling_quick() {
    run_quick("ambient-scaling", 5, 1, &[]);
}

#[test]
fn score_estimation_quick() {
    run_quick("score-estimation", 5, 1, &[]);
}
