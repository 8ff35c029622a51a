//! The four repros of the sampled-estimator area (wta-crs, bvpo, compositional, sso) pass at quick
//! scale on a non-default seed and write their result, report, CSV and plots.

use std::path::Path;
use std::process::Command;

fn run_quick(name: &str, seed: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_noisekit"))
        .args(["repro", name, "--quick", "--seed", seed, "--out"])
        .arg(dir.path())
        .output()
        .expect("noisekit runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    let res_dir = dir.path().join(name);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(res_dir.join("result.json")).unwrap())
            .unwrap();
    assert_eq!(
        result["pass"],
        serde_json::Value::Bool(true),
        "{name}: {result}"
    );
    assert_eq!(result["seed"].as_u64(), Some(seed.parse().unwrap()));
    assert!(result["measured"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert!(res_dir.join("report.md").exists());
    let files: Vec<String> = std::fs::read_dir(&res_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with(".svg")),
        "{name}: no plot in {files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with(".csv")),
        "{name}: no CSV in {files:?}"
    );
    assert!(Path::new(&res_dir).is_dir());
}

#[test]
fn wta_crs_quick_passes() {
    run_quick("wta-crs", "17");
}

#[test]
fn bvpo_quick_passes() {
    run_quick("bvpo", "17");
}

#[test]
fn compositional_quick_passes() {
    run_quick("compositional", "17");
}

#[test]
fn sso_quick_passes() {
    run_quick("sso", "17");
}
