//! `cargo test` runs every golden comparison (the same as `noisekit fixtures check`).

#[test]
fn golden_fixtures_match() {
    let dir = noisekit_cli::golden::fixtures_dir();
    let failures = noisekit_cli::golden::check(&dir).expect("golden check ran");
    assert!(
        failures.is_empty(),
        "golden mismatches (run `noisekit fixtures bless` only if the change is intended):\n{}",
        failures.join("\n")
    );
}

#[test]
fn golden_names_are_unique() {
    let cases = noisekit_cli::golden::all();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate golden case names");
}
