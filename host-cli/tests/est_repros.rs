//! The four repros of the sampled-estimator area (wta-crs, bvpo, compositional, sso) pass at quick
//! scale on a non-default seed and write their result, report, CSV and plots.

mod common;

use common::run_quick;

#[test]
fn wta_crs_quick_passes() {
    run_quick("wta-crs", 17, 1, &[]);
}

#[test]
fn bvpo_quick_passes() {
    run_quick("bvpo", 17, 1, &[]);
}

#[test]
fn compositional_quick_passes() {
    run_quick("compositional", 17, 1, &[]);
}

#[test]
fn sso_quick_passes() {
    run_quick("sso", 17, 1, &[]);
}
