//! The fractional-noise and bit-plane repros pass at quick scale on a non-default seed and write
//! their files.

mod common;

use common::run_quick;

#[test]
fn fbm_sde_quick_passes() {
    run_quick("fbm-sde", 17, 1, &[]);
}

#[test]
fn lota_quick_passes() {
    run_quick("lota", 23, 1, &[]);
}
