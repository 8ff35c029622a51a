//! Golden fixtures: frozen outputs of our own code for fixed seeds, in `fixtures/golden/<name>.json`.
//! `noisekit fixtures bless` rewrites them; `noisekit fixtures check` and `cargo test` compare.
//! Each area lists its cases in its own file.

pub mod dp;
pub mod federated;
pub mod fractional;
pub mod icl;
pub mod optim;
pub mod rng;
pub mod robust;
pub mod sampled;
pub mod score;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One frozen computation.
pub struct GoldenCase {
    /// File stem in `fixtures/golden/`.
    pub name: &'static str,
    /// Relative tolerance for floats (0 = exact). Frozen on x86-64; other CPUs may differ by a few ulp
    /// where gemm kernels differ.
    pub rel_tol: f64,
    /// Recomputes the value.
    pub produce: fn() -> Result<Value>,
}

/// Every golden case.
pub fn all() -> Vec<GoldenCase> {
    let mut v = Vec::new();
    v.extend(rng::cases());
    v.extend(dp::cases());
    v.extend(optim::cases());
    v.extend(sampled::cases());
    v.extend(icl::cases());
    v.extend(robust::cases());
    v.extend(score::cases());
    v.extend(fractional::cases());
    v.extend(federated::cases());
    v
}

/// The repository's `fixtures/` folder (overridable with `NOISEKIT_FIXTURES`).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("NOISEKIT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"))
}

/// Compares `got` with `want`; returns the first difference as a path and message.
pub fn compare(path: &str, want: &Value, got: &Value, rel_tol: f64) -> Option<String> {
    match (want, got) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64()?, b.as_f64()?);
            let diff = (a - b).abs();
            let ok = diff <= rel_tol * a.abs().max(b.abs()) || a == b;
            (!ok).then(|| format!("{path}: frozen {a:e}, now {b:e} (rel tol {rel_tol:e})"))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: length {} -> {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| compare(&format!("{path}[{i}]"), x, y, rel_tol))
        }
        (Value::Object(a), Value::Object(b)) => {
            if a.len() != b.len() || a.keys().any(|k| !b.contains_key(k)) {
                return Some(format!("{path}: keys changed"));
            }
            a.iter()
                .find_map(|(k, x)| compare(&format!("{path}.{k}"), x, &b[k], rel_tol))
        }
        _ => (want != got).then(|| format!("{path}: frozen {want}, now {got}")),
    }
}

/// Checks every case; returns the list of failures (empty = all match).
pub fn check(dir: &Path) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for case in all() {
        let file = dir.join("golden").join(format!("{}.json", case.name));
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(_) => {
                failures.push(format!(
                    "{}: missing {} (run `noisekit fixtures bless`)",
                    case.name,
                    file.display()
                ));
                continue;
            }
        };
        let want: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let got = (case.produce)().with_context(|| format!("golden case {}", case.name))?;
        if let Some(diff) = compare(case.name, &want, &got, case.rel_tol) {
            failures.push(diff);
        }
    }
    Ok(failures)
}

/// Rewrites every golden file from the current code.
pub fn bless(dir: &Path) -> Result<usize> {
    let cases = all();
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        if !names.insert(case.name) {
            bail!("golden case name {} is used twice", case.name);
        }
        let value = (case.produce)().with_context(|| format!("golden case {}", case.name))?;
        let file = dir.join("golden").join(format!("{}.json", case.name));
        let text = serde_json::to_string_pretty(&value)? + "\n";
        crate::framework::output::write_atomic(&file, text.as_bytes())?;
    }
    Ok(cases.len())
}
