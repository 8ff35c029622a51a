//! GPU benchmark table for `benches/gpu.sh`: fused update rules on N parameters (default 100M)
//! against the device's memory bandwidth, and DP-SGD clip + noise samples/s against the CPU
//! backend. Prints `SKIP cuda: <reason>` and exits 0 without a GPU.
//!
//! Usage: `cargo run --release -p noisekit-cuda --example gpu_bench -- [params] [batch] [dim]`.

use std::time::Instant;

use cudarc::driver::sys::CUdevice_attribute;
use noisekit::backend::{Backend, CpuBackend, UpdateRule};
use noisekit::{NoiseKey, Result};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Median seconds of `reps` timed calls after `warm` untimed ones.
fn time(warm: usize, reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..warm {
        f()?;
    }
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(|a, b| a.total_cmp(b));
    Ok(t[t.len() / 2])
}

fn main() -> Result<()> {
    let Some(gpu) = noisekit_cuda::backend_or_skip() else {
        return Ok(());
    };
    let n = arg(1, 100_000_000);
    let batch = arg(2, 256);
    let dim = arg(3, 1_000_000);
    let ctx = gpu.context();
    let clock_khz = ctx
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
        .unwrap_or(0);
    let bus_bits = ctx
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
        .unwrap_or(0);
    let peak = 2.0 * clock_khz as f64 * 1e3 * bus_bits as f64 / 8.0 / 1e9; // GB/s (DDR)
    gpu.warm_up()?;
    println!(
        "device: {} | theoretical memory bandwidth {peak:.0} GB/s",
        gpu.device_name()?
    );

    // device-to-device copy: the practical bandwidth ceiling (reads n, writes n)
    let src = gpu.alloc::<f32>(n)?;
    let mut dst = gpu.alloc::<f32>(n)?;
    let t_copy = time(2, 10, || {
        gpu.copy(&src, &mut dst)?;
        gpu.sync()
    })?;
    let copy_bw = 8.0 * n as f64 / t_copy / 1e9;
    drop((src, dst));
    println!("copy {n} f32: {:.3} ms, {copy_bw:.0} GB/s", t_copy * 1e3);

    println!("\n| fused update ({n} params) | noise | ms/step | GB/s | % peak | % copy |");
    println!("|---|---|---|---|---|---|");
    let mut params = gpu.alloc::<f32>(n)?;
    let mut grads = gpu.alloc::<f32>(n)?;
    gpu.fill_normal(NoiseKey::new(1, 1), &mut params)?;
    gpu.fill_normal(NoiseKey::new(1, 2), &mut grads)?;
    let mut state = vec![gpu.alloc::<f32>(n)?, gpu.alloc::<f32>(n)?];
    let rules: [(&str, UpdateRule, usize); 4] = [
        (
            "sgd",
            UpdateRule::Sgd {
                lr: 0.01,
                momentum: 0.0,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: false,
                step: 2,
            },
            3,
        ),
        (
            "sgd+momentum",
            UpdateRule::Sgd {
                lr: 0.01,
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: true,
                step: 2,
            },
            5,
        ),
        (
            "adamw",
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                step: 2,
            },
            7,
        ),
        (
            "sgd-sai",
            UpdateRule::SgdSai {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 1e-4,
                gsnr: 0.5,
                step: 2,
            },
            5,
        ),
    ];
    for (name, rule, words) in rules {
        for noisy in [false, true] {
            let noise = noisy.then_some((NoiseKey::new(7, 7), 1e-3f32));
            let t = time(2, 10, || {
                gpu.fused_update(&rule, &mut params, &grads, &mut state, noise)?;
                gpu.sync()
            })?;
            let bw = (words * 4 * n) as f64 / t / 1e9;
            println!(
                "| {name} | {} | {:.3} | {bw:.0} | {:.0}% | {:.0}% |",
                if noisy { "yes" } else { "no" },
                t * 1e3,
                100.0 * bw / peak.max(1e-9),
                100.0 * bw / copy_bw
            );
        }
    }
    drop((params, grads, state));

    println!("\n| DP-SGD clip+sum+noise ({batch} x {dim}) | ms/batch | samples/s | speed-up |");
    println!("|---|---|---|---|");
    let mut g = vec![0f32; batch * dim];
    noisekit::rng::bulk::fill_normal_f32(&NoiseKey::new(3, 3), &mut g);
    let gg = gpu.upload(&g)?;
    let mut og = gpu.alloc::<f32>(dim)?;
    let key = NoiseKey::new(9, 9);
    let t_gpu = time(2, 10, || {
        gpu.clip_rows_and_sum(&gg, batch, dim, 1.0, &mut og)?;
        gpu.add_normal(key, 1.1, &mut og)?;
        gpu.sync()
    })?;
    let cpu = CpuBackend;
    let mut oc = vec![0f32; dim];
    let t_cpu = time(1, 3, || {
        cpu.clip_rows_and_sum(&g, batch, dim, 1.0, &mut oc)?;
        cpu.add_normal(key, 1.1, &mut oc)
    })?;
    println!(
        "| cpu backend (1 thread) | {:.3} | {:.0} | 1.0x |",
        t_cpu * 1e3,
        batch as f64 / t_cpu
    );
    println!(
        "| cuda backend | {:.3} | {:.0} | {:.1}x |",
        t_gpu * 1e3,
        batch as f64 / t_gpu,
        t_cpu / t_gpu
    );
    Ok(())
}
