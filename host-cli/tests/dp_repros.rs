//! The DP reproductions at quick scale on a non-default seed: PASS and their files written.

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run(name: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let repro = noisekit_cli::repros::find(name).expect("registered");
    let opts = RunOptions {
        out: dir.path().to_path_buf(),
        seed: 7,
        quick: true,
        config: None,
        resume: false,
        single: true,
    };
    let summary = run_one(repro, &opts).expect("runs");
    assert_eq!(summary.pass, Some(true), "{name} did not pass");
    let folder = dir.path().join(name);
    for f in ["result.json", "report.md"] {
        assert!(folder.join(f).exists(), "{name}: {f} missing");
    }
    let svgs = std::fs::read_dir(&folder)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert!(svgs >= 1, "{name}: no plot");
    serde_json::from_str(&std::fs::read_to_string(folder.join("result.json")).unwrap()).unwrap()
}

#[test]
fn dp_accounting_quick_passes() {
    run("dp-accounting");
}

#[test]
fn rldp_quick_passes() {
    let r = run("rldp");
    let m = &r["measured"];
    // The SAC controllers ran, kept the (eps, delta) contract and the clip-only one is within 0.01
    // of the best fixed clip norm.
    assert!(m["sac_max_eps"].as_f64().unwrap() <= 3.0 * (1.0 + 1e-9));
    assert!(m["sac_wide_max_eps"].as_f64().unwrap() <= 3.0 * (1.0 + 1e-9));
    assert!(m["sac_gap_to_best_fixed"].as_f64().unwrap() <= 0.01);
    assert!(m["sac_gradient_updates"].as_u64().unwrap() > 0);
}
