//! The in-context-learning reproductions at quick scale on a non-default seed: each passes and
//! writes its files.

mod common;

use common::run_quick;

#[test]
fn icl_one_step_gd_quick_passes() {
    run_quick("icl-one-step-gd", 17, 2, &[]);
}

#[test]
fn icl_algorithms_quick_passes() {
    run_quick("icl-algorithms", 17, 2, &[]);
}
