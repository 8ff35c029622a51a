//! The four repros of the update-rules area at quick scale on a non-default seed: PASS, and the
//! result files written. (sgd-sai and gradient-noise take ~15-30 s of CPU each in release.)

use std::path::Path;

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run(name: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let repro =
        noisekit_cli::repros::find(name).unwrap_or_else(|| panic!("repro {name} registered"));
    let opts = RunOptions {
        quick: true,
        seed,
        out: dir.path().to_path_buf(),
        config: None,
        resume: false,
        single: true,
    };
    let summary = run_one(repro, &opts).unwrap();
    assert_eq!(summary.pass, Some(true), "{name} seed {seed} did not pass");
    let out = dir.path().join(name);
    for f in ["result.json", "report.md"] {
        assert!(Path::new(&out.join(f)).exists(), "{name}: {f} missing");
    }
    let svgs = std::fs::read_dir(&out)
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
fn benign_oscillation_quick() {
    run("benign-oscillation", 17);
}

#[test]
fn sgd_noise_regimes_quick() {
    run("sgd-noise-regimes", 17);
}

#[test]
fn sgd_sai_quick() {
    run("sgd-sai", 17);
}

#[test]
fn gradient_noise_quick() {
    run("gradient-noise", 17);
}
