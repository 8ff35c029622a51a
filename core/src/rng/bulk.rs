//! Bulk noise on Philox: fills whose element `i` depends only on the key and `i`.
//!
//! Normals use Box-Muller on Philox words: block `b` gives words `(w0, w1, w2, w3)`;
//! `u = ((w >> 8) + 1) 2^-24` in `(0, 1]`, `r = sqrt(-2 ln u_a)`, `theta = 2 pi u_b`, and the
//! pairs `(w0, w1)`, `(w2, w3)` give `(r cos theta, r sin theta)`. So element `i` of an `f32` fill
//! reads block `offset + i / 4`, lane `i % 4`. The `f64` fill uses 53-bit uniforms from word pairs:
//! one block gives one Box-Muller pair. The CUDA kernel uses the same formula, so both backends agree
//! to a few ulp (uniforms agree bit for bit). Cost: one Philox block and two `ln/sqrt/sincos` per 4
//! `f32` normals.

use super::philox::{u32_to_unit_f32, u64_to_unit_f64, NoiseKey};

const TWO_PI_F32: f32 = core::f32::consts::TAU;
const TWO_PI_F64: f64 = core::f64::consts::TAU;

/// Box-Muller on two `f32` uniforms in `(0, 1]`.
#[inline(always)]
pub fn box_muller_f32(u_radius: f32, u_angle: f32) -> (f32, f32) {
    let r = libm::sqrtf(-2.0 * libm::logf(u_radius));
    let (s, c) = libm::sincosf(TWO_PI_F32 * u_angle);
    (r * c, r * s)
}

/// Box-Muller on two `f64` uniforms in `(0, 1]`.
#[inline(always)]
pub fn box_muller_f64(u_radius: f64, u_angle: f64) -> (f64, f64) {
    let r = libm::sqrt(-2.0 * libm::log(u_radius));
    let (s, c) = libm::sincos(TWO_PI_F64 * u_angle);
    (r * c, r * s)
}

/// The four standard normals of block `index` of `key`.
#[inline(always)]
pub fn normal4_f32(key: &NoiseKey, index: u64) -> [f32; 4] {
    let w = key.block(index);
    let (a, b) = box_muller_f32(u32_to_unit_f32(w[0]), u32_to_unit_f32(w[1]));
    let (c, d) = box_muller_f32(u32_to_unit_f32(w[2]), u32_to_unit_f32(w[3]));
    [a, b, c, d]
}

/// The two standard normals of block `index` of `key` (f64).
#[inline(always)]
pub fn normal2_f64(key: &NoiseKey, index: u64) -> [f64; 2] {
    let w = key.block(index);
    let (a, b) = box_muller_f64(u64_to_unit_f64(w[0], w[1]), u64_to_unit_f64(w[2], w[3]));
    [a, b]
}

/// Calls `f(i, z_i)` for `i` in `start..start + n` with the standard normals of `key`; `start`
/// need not be a multiple of 4, so a fill can be split across threads at any point.
#[inline(always)]
pub fn for_each_normal_f32(key: &NoiseKey, start: usize, n: usize, mut f: impl FnMut(usize, f32)) {
    let end = start + n;
    let mut i = start;
    while i < end {
        let block = (i / 4) as u64;
        let z = normal4_f32(key, block);
        let lane0 = i % 4;
        let take = (4 - lane0).min(end - i);
        for (l, &zl) in z.iter().enumerate().skip(lane0).take(take) {
            f(block as usize * 4 + l, zl);
        }
        i += take;
    }
}

/// `out[i] = N(0,1)` for the key's stream (element `i` as documented above).
pub fn fill_normal_f32(key: &NoiseKey, out: &mut [f32]) {
    fill_normal_f32_at(key, 0, out);
}

/// Like [`fill_normal_f32`] but `out[j]` receives element `start + j` of the stream.
pub fn fill_normal_f32_at(key: &NoiseKey, start: usize, out: &mut [f32]) {
    let n = out.len();
    for_each_normal_f32(key, start, n, |i, z| out[i - start] = z);
}

/// `x[i] += sigma * N(0,1)`.
pub fn add_normal_f32(key: &NoiseKey, sigma: f32, x: &mut [f32]) {
    let n = x.len();
    for_each_normal_f32(key, 0, n, |i, z| x[i] += sigma * z);
}

/// `out[i] = N(0,1)` in `f64`; element `i` reads block `offset + i / 2`.
pub fn fill_normal_f64(key: &NoiseKey, out: &mut [f64]) {
    let mut chunks = out.chunks_exact_mut(2);
    let mut block = 0u64;
    for pair in &mut chunks {
        let z = normal2_f64(key, block);
        pair[0] = z[0];
        pair[1] = z[1];
        block += 1;
    }
    if let [last] = chunks.into_remainder() {
        *last = normal2_f64(key, block)[0];
    }
}

/// `out[i]` uniform in `(0, 1]` from word `i % 4` of block `offset + i / 4`.
pub fn fill_uniform_f32(key: &NoiseKey, out: &mut [f32]) {
    for (b, chunk) in out.chunks_mut(4).enumerate() {
        let w = key.block(b as u64);
        for (o, &wi) in chunk.iter_mut().zip(w.iter()) {
            *o = u32_to_unit_f32(wi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_split_invariant() {
        let key = NoiseKey::new(42, 7);
        let mut whole = [0f32; 37];
        fill_normal_f32(&key, &mut whole);
        for split in [1usize, 3, 4, 5, 17, 36] {
            let mut a = [0f32; 37];
            let (lo, hi) = a.split_at_mut(split);
            fill_normal_f32_at(&key, 0, lo);
            fill_normal_f32_at(&key, split, hi);
            assert_eq!(a, whole, "split at {split}");
        }
    }

    #[test]
    fn first_block_matches_box_muller_by_hand() {
        // Block 0 of seed 0, stream 0 is the first Random123 KAT vector.
        let key = NoiseKey::new(0, 0);
        let w = [0x6627e8d5u32, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8];
        let u: [f64; 4] = core::array::from_fn(|i| ((w[i] >> 8) + 1) as f64 / 16_777_216.0);
        let r0 = (-2.0 * u[0].ln()).sqrt();
        let expect0 = r0 * (core::f64::consts::TAU * u[1]).cos();
        let expect1 = r0 * (core::f64::consts::TAU * u[1]).sin();
        let z = normal4_f32(&key, 0);
        assert!(
            (z[0] as f64 - expect0).abs() < 1e-5,
            "{} vs {}",
            z[0],
            expect0
        );
        assert!((z[1] as f64 - expect1).abs() < 1e-5);
    }

    #[test]
    fn add_normal_adds_scaled_fill() {
        let key = NoiseKey::new(3, 1);
        let mut z = [0f32; 10];
        fill_normal_f32(&key, &mut z);
        let mut x = [1f32; 10];
        add_normal_f32(&key, 0.5, &mut x);
        for i in 0..10 {
            assert_eq!(x[i], 1.0 + 0.5 * z[i]);
        }
    }
}
