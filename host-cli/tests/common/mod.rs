//! Shared by the repro integration tests: one reproduction at quick scale in a temporary folder.

use noisekit_cli::framework::runner::{run_one, RunOptions};

/// Runs repro `name` at quick scale with `seed` (in process, as `noisekit repro NAME --quick`
/// would) and checks what every repro must leave: PASS, `result.json` naming the seed with a
/// non-empty `measured`, `report.md`, a CSV, at least `min_plots` SVG plots, and each of `files`.
/// Returns `result.json` for further checks.
pub fn run_quick(name: &str, seed: u64, min_plots: usize, files: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let repro =
        noisekit_cli::repros::find(name).unwrap_or_else(|| panic!("repro {name} registered"));
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
    for f in ["result.json", "report.md"].iter().chain(files) {
        assert!(out.join(f).is_file(), "{name}: {f} missing");
    }
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["pass"], true, "{name}: {result}");
    assert_eq!(result["seed"], seed);
    assert!(
        result["measured"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{name}: empty measured"
    );
    let count = |ext: &str| {
        std::fs::read_dir(&out)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == ext)
            })
            .count()
    };
    let svgs = count("svg");
    assert!(
        svgs >= min_plots,
        "{name}: {svgs} plots, want >= {min_plots}"
    );
    assert!(count("csv") >= 1, "{name}: no CSV of the series");
    result
}
