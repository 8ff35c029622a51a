//! The DP reproductions at quick scale on a non-default seed: PASS and their files written.

mod common;

use common::run_quick;

#[test]
fn dp_accounting_quick_passes() {
    run_quick("dp-accounting", 7, 1, &[]);
}

#[test]
fn rldp_quick_passes() {
    let r = run_quick("rldp", 7, 1, &[]);
    let m = &r["measured"];
    // The SAC controllers ran, kept the (eps, delta) contract and the clip-only one is within 0.01
    // of the best fixed clip norm.
    assert!(m["sac_max_eps"].as_f64().unwrap() <= 3.0 * (1.0 + 1e-9));
    assert!(m["sac_wide_max_eps"].as_f64().unwrap() <= 3.0 * (1.0 + 1e-9));
    assert!(m["sac_gap_to_best_fixed"].as_f64().unwrap() <= 0.01);
    assert!(m["sac_gradient_updates"].as_u64().unwrap() > 0);
}
