//! The label-noise / robust-recovery repros at quick scale on a non-default seed: they pass and
//! write their files. (`nmtune` takes ~20 s of CPU at quick scale and is checked by hand over seeds;
//! see the area report.)

mod common;

use common::run_quick;

#[test]
fn elr_quick_passes() {
    run_quick(
        "elr",
        17,
        2,
        &["test_accuracy.svg", "memorized.svg", "curves.csv"],
    );
}

#[test]
fn subgm_quick_passes() {
    run_quick("subgm", 23, 1, &["rel_err.svg", "noise.csv"]);
}
