//! The DP reproductions at quick scale on a non-default seed: PASS and their files written.

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run(name: &str) {
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
}

#[test]
fn dp_accounting_quick_passes() {
    run("dp-accounting");
}

#[test]
fn rldp_quick_passes() {
    run("rldp");
}
