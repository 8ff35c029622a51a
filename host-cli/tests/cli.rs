//! End-to-end checks of the `noisekit` binary: bad input gives one clear line and a non-zero exit,
//! nothing half-written; results are written and resumable.

use std::process::Command;

fn noisekit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_noisekit"))
        .args(args)
        .output()
        .expect("noisekit runs")
}

#[test]
fn unknown_repro_is_one_line_and_exit_2() {
    let out = noisekit(&["repro", "no-such-paper"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown repro \"no-such-paper\""), "{err}");
}

#[test]
fn mistyped_config_key_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[sampler-stats]\nsampels = 10\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = noisekit(&[
        "repro",
        "sampler-stats",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown config key sampler-stats.sampels"),
        "{err}"
    );
    assert!(!out_dir.join("sampler-stats").exists());
}

#[test]
fn list_names_every_registered_repro() {
    let out = noisekit(&["repro", "--list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "dp-accounting",
        "wta-crs",
        "fbm-sde",
        "lota",
        "sso",
        "fedsvd",
    ] {
        assert!(text.contains(name), "{name} missing from --list");
    }
    assert_eq!(text.lines().count(), 23);
}

#[test]
fn repro_writes_results_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap().to_string();
    let args = [
        "repro",
        "sampler-stats",
        "--quick",
        "--seed",
        "5",
        "--out",
        &out_dir,
    ];
    let first = noisekit(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let result = dir.path().join("sampler-stats/result.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    for key in [
        "name",
        "pass",
        "criterion",
        "measured",
        "seed",
        "config",
        "elapsed_s",
    ] {
        assert!(json.get(key).is_some(), "result.json lacks {key}");
    }
    assert_eq!(json["seed"], 5);
    assert!(dir.path().join("sampler-stats/normal_hist.svg").exists());
    assert!(dir.path().join("sampler-stats/report.md").exists());
    let mut resume_args = args.to_vec();
    resume_args.push("--resume");
    let second = noisekit(&resume_args);
    assert!(String::from_utf8_lossy(&second.stdout).contains("resumed"));
}
