//! The in-context-learning reproductions at quick scale on a non-default seed: each passes and
//! writes its files.

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run(name: &str, seed: u64) {
    let repro = noisekit_cli::repros::find(name).expect("registered");
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        seed,
        quick: true,
        out: dir.path().to_path_buf(),
        config: None,
        resume: false,
        single: true,
    };
    let summary = run_one(repro, &opts).unwrap();
    assert_eq!(summary.pass, Some(true), "{name} seed {seed}");
    let out = dir.path().join(name);
    for f in ["result.json", "report.md"] {
        assert!(out.join(f).exists(), "{name}: {f} missing");
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
    assert!(svgs >= 2, "{name}: {svgs} plots");
}

#[test]
fn icl_one_step_gd_quick_passes() {
    run("icl-one-step-gd", 17);
}

#[test]
fn icl_algorithms_quick_passes() {
    run("icl-algorithms", 17);
}
