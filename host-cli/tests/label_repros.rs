//! The label-noise / robust-recovery repros at quick scale on a non-default seed: they pass and
//! write their files. (`nmtune` takes ~20 s of CPU at quick scale and is checked by hand over seeds;
//! see the area report.)

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run_quick(name: &str, seed: u64, files: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let repro = noisekit_cli::repros::find(name).expect("registered");
    let opts = RunOptions {
        seed,
        quick: true,
        out: dir.path().to_path_buf(),
        config: None,
        resume: false,
        single: true,
    };
    let summary = run_one(repro, &opts).unwrap();
    assert_eq!(summary.pass, Some(true), "{name} failed at seed {seed}");
    for f in ["result.json", "report.md"].iter().chain(files) {
        assert!(
            dir.path().join(name).join(f).exists(),
            "{name}: {f} missing"
        );
    }
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(name).join("result.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(result["pass"], true);
    assert_eq!(result["seed"], seed);
}

#[test]
fn elr_quick_passes() {
    run_quick(
        "elr",
        17,
        &["test_accuracy.svg", "memorized.svg", "curves.csv"],
    );
}

#[test]
fn subgm_quick_passes() {
    run_quick("subgm", 23, &["rel_err.svg", "noise.csv"]);
}
