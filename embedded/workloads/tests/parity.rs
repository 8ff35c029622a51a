//! Compares what the firmware printed under QEMU with the same computations on the host.
//!
//! `embedded/run.sh` builds the firmware, runs it on an emulated Cortex-M4F (`mps2-an386`) and
//! writes its output to `target/embedded/firmware-output.txt`; this test reads the file named by
//! `NOISEKIT_FIRMWARE_OUTPUT`. Without that variable it prints one line saying it was skipped.
//! Words must match bit for bit; f32 values within 2 ulp (the core's float paths use no FMA, so
//! equality is expected; the bound leaves room for libm differences); f64 to 1e-12 relative.

use std::collections::BTreeMap;

use noisekit_embedded_workloads::{run_all, Sink};

#[derive(Default)]
struct Collect(BTreeMap<String, Vec<u64>>, BTreeMap<String, char>);

impl Sink for Collect {
    fn words(&mut self, name: &str, values: &[u32]) {
        self.0
            .insert(name.into(), values.iter().map(|&v| v as u64).collect());
        self.1.insert(name.into(), 'u');
    }
    fn floats(&mut self, name: &str, values: &[f32]) {
        self.0.insert(
            name.into(),
            values.iter().map(|v| v.to_bits() as u64).collect(),
        );
        self.1.insert(name.into(), 'f');
    }
    fn doubles(&mut self, name: &str, values: &[f64]) {
        self.0
            .insert(name.into(), values.iter().map(|v| v.to_bits()).collect());
        self.1.insert(name.into(), 'd');
    }
}

/// Parses lines `kind name hex hex ...` (kind u/f/d) printed by the firmware.
fn parse(text: &str) -> BTreeMap<String, (char, Vec<u64>)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let kind = match kind {
            "u" | "f" | "d" => kind.chars().next().unwrap_or('u'),
            _ => continue,
        };
        let values = parts
            .map(|h| u64::from_str_radix(h, 16).expect("hex value"))
            .collect();
        out.insert(name.to_string(), (kind, values));
    }
    out
}

fn ulp_distance(a: u32, b: u32) -> u32 {
    let key = |x: u32| if x >> 31 == 1 { !x } else { x | 0x8000_0000 };
    key(a).abs_diff(key(b))
}

#[test]
fn firmware_matches_host() {
    let Some(path) = std::env::var_os("NOISEKIT_FIRMWARE_OUTPUT") else {
        println!("SKIP embedded parity: NOISEKIT_FIRMWARE_OUTPUT not set (run embedded/run.sh)");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("firmware output file exists");
    assert!(
        text.contains("status ok"),
        "firmware did not finish:\n{text}"
    );
    let fw = parse(&text);
    let mut host = Collect::default();
    run_all(&mut host).expect("host workloads run");
    assert!(!host.0.is_empty());
    let (mut values, mut identical) = (0usize, 0usize);
    for (name, want) in &host.0 {
        let kind = host.1[name];
        let (fkind, got) = fw
            .get(name)
            .unwrap_or_else(|| panic!("firmware did not print {name}"));
        assert_eq!(*fkind, kind, "{name}: kind");
        assert_eq!(got.len(), want.len(), "{name}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            values += 1;
            identical += usize::from(g == w);
            match kind {
                'u' => assert_eq!(g, w, "{name}[{i}]"),
                'f' => {
                    let d = ulp_distance(g as u32, w as u32);
                    assert!(d <= 2, "{name}[{i}]: {} ulp apart", d);
                }
                _ => {
                    let (a, b) = (f64::from_bits(g), f64::from_bits(w));
                    assert!(
                        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
                        "{name}[{i}]: {a} vs {b}"
                    );
                }
            }
        }
    }
    println!(
        "embedded parity: {} results match the firmware; {identical} of {values} values bit-identical",
        host.0.len()
    );
}

#[test]
fn sgd_sai_trajectory_matches_the_spec() {
    // Spec 13, trajectory G7: after step 2, p = [0.5896992959, -2.5299018141]; here after 3.
    let mut host = Collect::default();
    run_all(&mut host).expect("host workloads run");
    let p: Vec<f32> = host.0["sgd_sai_params"]
        .iter()
        .map(|&b| f32::from_bits(b as u32))
        .collect();
    let m: Vec<f32> = host.0["sgd_sai_momentum"]
        .iter()
        .map(|&b| f32::from_bits(b as u32))
        .collect();
    // buf3 = 0.9 * [2.8, 3.5] + 0.1 * [-2, 0.5] = [2.32, 3.2]
    assert!(
        (m[0] - 2.32).abs() < 1e-5 && (m[1] - 3.2).abs() < 1e-5,
        "{m:?}"
    );
    // p3 = p2 * (1 - 1e-4) - 0.01 * 7.0710677 * buf3
    let p3 = [
        0.589_699_3 * (1.0 - 1e-4) - 0.070_710_68 * 2.32,
        -2.529_901_8 * (1.0 - 1e-4) - 0.070_710_68 * 3.2,
    ];
    assert!(
        (p[0] - p3[0]).abs() < 1e-5 && (p[1] - p3[1]).abs() < 1e-5,
        "{p:?} vs {p3:?}"
    );
}
