//! The fractional-noise and bit-plane repros pass at quick scale on a non-default seed and write
//! their files.

use std::process::Command;

fn run_repro(name: &str, seed: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_noisekit"))
        .args(["repro", name, "--quick", "--seed", seed, "--out"])
        .arg(dir.path())
        .output()
        .expect("noisekit runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: {stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{name}: PASS")), "{stdout}");
    let d = dir.path().join(name);
    for f in ["result.json", "report.md"] {
        assert!(d.join(f).is_file(), "{name}: missing {f}");
    }
    let svgs = std::fs::read_dir(&d)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert!(svgs >= 1, "{name}: no plot written");
}

#[test]
fn fbm_sde_quick_passes() {
    run_repro("fbm-sde", "17");
}

#[test]
fn lota_quick_passes() {
    run_repro("lota", "23");
}
