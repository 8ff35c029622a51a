//! Multi-GPU parity of the NCCL DP-SGD all-reduce (feature `nccl`): R GPUs with the batch split
//! across them give the single-device noisy clipped sum (CPU reference) within the summation-order
//! bound. Skips with one line when fewer than two GPUs (or no NCCL) are present.
#![cfg(feature = "nccl")]

use noisekit::backend::{Backend, CpuBackend};
use noisekit::rng::bulk;
use noisekit::NoiseKey;
use noisekit_cuda::nccl::DataParallel;

#[test]
fn all_reduce_of_clipped_noised_gradients_matches_single_device() {
    let n = noisekit_cuda::device_count();
    if n < 2 {
        println!("SKIP cuda: nccl parity needs 2 GPUs, found {n}");
        return;
    }
    let devices: Vec<usize> = (0..n).collect();
    let dp = match DataParallel::new(&devices) {
        Ok(dp) => dp,
        Err(e) => {
            println!("SKIP cuda: {e}");
            return;
        }
    };
    let (rows_per, cols, clip, noise_std) = (64usize, 5000usize, 1.0f32, 1.1f32);
    let total = rows_per * n;
    let mut g = vec![0f32; total * cols];
    bulk::fill_normal_f32(&NoiseKey::new(5, 5), &mut g);
    let key = NoiseKey::new(31337, 2);
    let mut want = vec![0f32; cols];
    CpuBackend
        .clip_rows_and_sum(&g, total, cols, clip, &mut want)
        .unwrap();
    CpuBackend.add_normal(key, noise_std, &mut want).unwrap();
    let shards: Vec<_> = (0..n)
        .map(|r| {
            dp.rank(r)
                .unwrap()
                .upload(&g[r * rows_per * cols..(r + 1) * rows_per * cols])
                .unwrap()
        })
        .collect();
    let mut outs: Vec<_> = (0..n)
        .map(|r| dp.rank(r).unwrap().alloc::<f32>(cols).unwrap())
        .collect();
    dp.clip_noise_all_reduce(
        &shards,
        &vec![rows_per; n],
        cols,
        clip,
        key,
        noise_std,
        &mut outs,
    )
    .unwrap();
    for (r, out) in outs.iter().enumerate() {
        let mut got = vec![0f32; cols];
        dp.rank(r).unwrap().download(out, &mut got).unwrap();
        for c in 0..cols {
            let s: f64 = (0..total).map(|i| g[i * cols + c].abs() as f64).sum();
            let tol = 2.0 * (cols + total + 8) as f64 * 2f64.powi(-24) * s
                + 1e-5 * (want[c].abs() as f64).max(1.0);
            assert!(
                ((got[c] - want[c]) as f64).abs() <= tol,
                "rank {r} col {c}: {} vs {}",
                got[c],
                want[c]
            );
        }
    }
}
