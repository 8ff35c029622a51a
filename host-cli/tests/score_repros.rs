//! The score area's repros at quick scale on a non-default seed: each must pass and write its files.

use noisekit_cli::framework::runner::{run_one, RunOptions};

fn run(name: &str, seed: u64) {
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
    assert!(svgs >= 1, "{name}: no plot");
}

#[test]
fn noise2score_quick() {
    run("noise2score", 5);
}

#[test]
fn golden_noise_quick() {
    run("golden-noise", 5);
}

#[test]
fn score_estimation_quick() {
    run("score-estimation", 5);
}
