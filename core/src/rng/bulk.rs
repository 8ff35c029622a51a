//! Bulk noise on Philox: fills whose element `i` depends only on the key and `i`.
//!
//! Normals use Box-Muller on Philox words: block `b` gives words `(w0, w1, w2, w3)`;
//! `u = ((w >> 8) + 1) 2^-24` in `(0, 1]`, `r = sqrt(-2 ln u_a)`, `theta = 2 pi u_b`, and the
//! pairs `(w0, w1)`, `(w2, w3)` give `(r cos theta, r sin theta)`. So element `i` of an `f32` fill
//! reads block `offset + i / 4`, lane `i % 4`. The `f64` fill uses 53-bit uniforms from word pairs:
//! one block gives one Box-Muller pair. The CUDA kernel uses the same formula, so both backends agree
//! to a few ulp (uniforms agree bit for bit). Cost: one Philox block and two `ln/sqrt/sincos` per 4
//! `f32` normals.

use super::fastmath;
use super::philox::{philox4x32_10, u32_to_unit_f32, u64_to_unit_f64, NoiseKey};

/// Box-Muller on two `f32` uniforms in `(0, 1]`, with the branch-free `ln`/`sincos` of
/// [`super::fastmath`] (about 1-2 ulp; the same bits on every target).
#[inline(always)]
pub fn box_muller_f32(u_radius: f32, u_angle: f32) -> (f32, f32) {
    let r = fastmath::sqrt(-2.0 * fastmath::ln(u_radius));
    let (s, c) = fastmath::sincos_turns(u_angle);
    (r * c, r * s)
}

/// Box-Muller on two `f64` uniforms in `(0, 1]`, with the branch-free `ln`/`sincos` of
/// [`super::fastmath`] (under 1 ulp; the same bits on every target).
#[inline(always)]
pub fn box_muller_f64(u_radius: f64, u_angle: f64) -> (f64, f64) {
    let r = fastmath::sqrt_f64(-2.0 * fastmath::ln_f64(u_radius));
    let (s, c) = fastmath::sincos_turns_f64(u_angle);
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
    // Unaligned head, then whole blocks in lanes of `LANES`, then the tail.
    let head = ((4 - start % 4) % 4).min(out.len());
    let (head_out, rest) = out.split_at_mut(head);
    for_each_normal_f32(key, start, head, |i, z| head_out[i - start] = z);
    let first_block = (start + head) / 4;
    let whole = rest.len() / 4;
    let (body, tail) = rest.split_at_mut(whole * 4);
    fill_blocks(key, first_block as u64, body);
    let tail_start = start + head + whole * 4;
    for_each_normal_f32(key, tail_start, tail.len(), |i, z| tail[i - tail_start] = z);
}

const LANES: usize = 16;

/// Normals of consecutive whole blocks starting at `first_block` into `out` (a multiple of 4 long).
fn fill_blocks(key: &NoiseKey, first_block: u64, out: &mut [f32]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked above); the function is otherwise safe.
            unsafe { fill_blocks_avx512(key, first_block, out) };
            return;
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); the function is otherwise safe.
            unsafe { fill_blocks_avx2(key, first_block, out) };
            return;
        }
    }
    fill_blocks_lanes(key, first_block, out, philox_lanes);
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn fill_blocks_avx512(key: &NoiseKey, first_block: u64, out: &mut [f32]) {
    // Same code, compiled for AVX-512 (16 lanes = one register per Philox word); no FMA
    // contraction happens in Rust, so the bits are identical to the other paths.
    // SAFETY (closure): this function only runs where AVX-512F was detected.
    fill_blocks_lanes(key, first_block, out, |x, k| unsafe {
        philox_lanes_avx512(x, k)
    })
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn fill_blocks_avx2(key: &NoiseKey, first_block: u64, out: &mut [f32]) {
    // Same code, compiled for AVX2: no FMA contraction happens in Rust, so the bits are identical.
    // SAFETY (closure): this function only runs where AVX2 was detected.
    fill_blocks_lanes(key, first_block, out, |x, k| unsafe {
        philox_lanes_avx2(x, k)
    })
}

// Lane loops index several arrays in step; plain index loops are what vectorises best here.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn fill_blocks_lanes(
    key: &NoiseKey,
    first_block: u64,
    out: &mut [f32],
    philox: impl Fn(&mut [[u32; LANES]; 4], [u32; 2]),
) {
    let k = [key.seed as u32, (key.seed >> 32) as u32];
    let mut chunks = out.chunks_exact_mut(4 * LANES);
    let mut block = key.offset.wrapping_add(first_block);
    for chunk in &mut chunks {
        let x = lane_words(key, block, k, &philox);
        let mut z = [[0f32; LANES]; 4];
        for l in 0..LANES {
            let (a, b) = box_muller_f32(u32_to_unit_f32(x[0][l]), u32_to_unit_f32(x[1][l]));
            let (c, d) = box_muller_f32(u32_to_unit_f32(x[2][l]), u32_to_unit_f32(x[3][l]));
            z[0][l] = a;
            z[1][l] = b;
            z[2][l] = c;
            z[3][l] = d;
        }
        for (l, o) in chunk.chunks_exact_mut(4).enumerate() {
            o[0] = z[0][l];
            o[1] = z[1][l];
            o[2] = z[2][l];
            o[3] = z[3][l];
        }
        block = block.wrapping_add(LANES as u64);
    }
    let rem = chunks.into_remainder();
    for (l, o) in rem.chunks_exact_mut(4).enumerate() {
        let w = philox4x32_10(
            {
                let b = block.wrapping_add(l as u64);
                [b as u32, (b >> 32) as u32, key.stream, 0]
            },
            k,
        );
        let (a, b) = box_muller_f32(u32_to_unit_f32(w[0]), u32_to_unit_f32(w[1]));
        let (c, d) = box_muller_f32(u32_to_unit_f32(w[2]), u32_to_unit_f32(w[3]));
        o.copy_from_slice(&[a, b, c, d]);
    }
}

/// The Philox words of blocks `first, first + 1, ..., first + LANES - 1` (absolute counters) as a
/// structure of arrays: `x[w][l]` is word `w` of block `first + l`.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn lane_words(
    key: &NoiseKey,
    first: u64,
    k: [u32; 2],
    philox: &impl Fn(&mut [[u32; LANES]; 4], [u32; 2]),
) -> [[u32; LANES]; 4] {
    let mut x = [[0u32; LANES]; 4];
    for l in 0..LANES {
        let b = first.wrapping_add(l as u64);
        x[0][l] = b as u32;
        x[1][l] = (b >> 32) as u32;
        x[2][l] = key.stream;
    }
    philox(&mut x, k);
    x
}

/// Philox4x32-10 on `LANES` counters at once (the counter's last word is 0 and is overwritten).
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn philox_lanes(x: &mut [[u32; LANES]; 4], key: [u32; 2]) {
    const M0: u64 = 0xD251_1F53;
    const M1: u64 = 0xCD9E_8D57;
    let [mut k0, mut k1] = key;
    x[3] = [0; LANES];
    for round in 0..10 {
        for l in 0..LANES {
            let p0 = M0 * x[0][l] as u64;
            let p1 = M1 * x[2][l] as u64;
            let n0 = (p1 >> 32) as u32 ^ x[1][l] ^ k0;
            let n2 = (p0 >> 32) as u32 ^ x[3][l] ^ k1;
            x[0][l] = n0;
            x[1][l] = p1 as u32;
            x[2][l] = n2;
            x[3][l] = p0 as u32;
        }
        if round < 9 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
    }
}

/// [`philox_lanes`] with AVX2 intrinsics: the 32 x 32 -> 64 products of 8 lanes take two
/// `vpmuludq` (even lanes, then odd lanes shifted down) and two blends to split high and low
/// words, where the compiler's widening code for the portable loop needs several times more
/// shuffles. Same words as [`philox_lanes`] (tested).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn philox_lanes_avx2(x: &mut [[u32; LANES]; 4], key: [u32; 2]) {
    use core::arch::x86_64::{
        __m256i, _mm256_blend_epi32, _mm256_loadu_si256, _mm256_mul_epu32, _mm256_set1_epi32,
        _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_slli_epi64, _mm256_srli_epi64,
        _mm256_storeu_si256, _mm256_xor_si256,
    };
    const HALVES: usize = LANES / 8;
    let m0 = _mm256_set1_epi64x(0xD251_1F53);
    let m1 = _mm256_set1_epi64x(0xCD9E_8D57);
    // (high, low) 32-bit words of the eight products a_i * m.
    let mulhilo = |a: __m256i, m: __m256i| {
        let even = _mm256_mul_epu32(a, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        (hi, lo)
    };
    let mut v = [[_mm256_setzero_si256(); HALVES]; 3];
    for (w, vw) in v.iter_mut().enumerate() {
        for (h, vh) in vw.iter_mut().enumerate() {
            // SAFETY: lanes 8h..8h+8 of a LANES-long array (unaligned load).
            *vh = unsafe { _mm256_loadu_si256(x[w].as_ptr().add(8 * h).cast()) };
        }
    }
    let [mut x0, mut x1, mut x2] = v;
    let mut x3 = [_mm256_setzero_si256(); HALVES];
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        let (kv0, kv1) = (_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32));
        for h in 0..HALVES {
            let (hi0, lo0) = mulhilo(x0[h], m0);
            let (hi1, lo1) = mulhilo(x2[h], m1);
            x0[h] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[h]), kv0);
            x2[h] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[h]), kv1);
            x1[h] = lo1;
            x3[h] = lo0;
        }
        if round < 9 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
    }
    for (w, vw) in [x0, x1, x2, x3].iter().enumerate() {
        for (h, vh) in vw.iter().enumerate() {
            // SAFETY: lanes 8h..8h+8 of a LANES-long array (unaligned store).
            unsafe { _mm256_storeu_si256(x[w].as_mut_ptr().add(8 * h).cast(), *vh) };
        }
    }
}

/// [`philox_lanes`] with AVX-512F intrinsics: the 16 lanes of each Philox word fill one register;
/// products as in [`philox_lanes_avx2`] (even lanes, then odd lanes shifted down, two masked
/// blends). Same words as [`philox_lanes`] (tested).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx512f")]
unsafe fn philox_lanes_avx512(x: &mut [[u32; LANES]; 4], key: [u32; 2]) {
    use core::arch::x86_64::{
        __m512i, _mm512_loadu_si512, _mm512_mask_blend_epi32, _mm512_mul_epu32, _mm512_set1_epi32,
        _mm512_set1_epi64, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srli_epi64,
        _mm512_storeu_si512, _mm512_xor_si512,
    };
    const _: () = assert!(LANES == 16);
    let m0 = _mm512_set1_epi64(0xD251_1F53);
    let m1 = _mm512_set1_epi64(0xCD9E_8D57);
    // (high, low) 32-bit words of the sixteen products a_i * m.
    let mulhilo = |a: __m512i, m: __m512i| {
        let even = _mm512_mul_epu32(a, m);
        let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(a), m);
        let hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(even), odd);
        let lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
        (hi, lo)
    };
    // SAFETY: each load reads the 16 u32 of one LANES-long array (unaligned load).
    let (mut x0, mut x1, mut x2) = unsafe {
        (
            _mm512_loadu_si512(x[0].as_ptr().cast()),
            _mm512_loadu_si512(x[1].as_ptr().cast()),
            _mm512_loadu_si512(x[2].as_ptr().cast()),
        )
    };
    let mut x3 = _mm512_setzero_si512();
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        let (kv0, kv1) = (_mm512_set1_epi32(k0 as i32), _mm512_set1_epi32(k1 as i32));
        let (hi0, lo0) = mulhilo(x0, m0);
        let (hi1, lo1) = mulhilo(x2, m1);
        x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), kv0);
        x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), kv1);
        x1 = lo1;
        x3 = lo0;
        if round < 9 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
    }
    for (w, v) in [x0, x1, x2, x3].into_iter().enumerate() {
        // SAFETY: writes the 16 u32 of one LANES-long array (unaligned store).
        unsafe { _mm512_storeu_si512(x[w].as_mut_ptr().cast(), v) };
    }
}

/// [`fill_normal_f32`] on `threads` scoped threads: the output is split into contiguous chunks and
/// chunk `j` receives elements `start_j..` of the stream, so the bytes are the same for any thread
/// count.
#[cfg(feature = "std")]
pub fn fill_normal_f32_par(key: &NoiseKey, out: &mut [f32], threads: usize) {
    let threads = threads.max(1);
    if threads == 1 || out.len() < 1 << 16 {
        fill_normal_f32(key, out);
        return;
    }
    // Chunk boundaries on multiples of 4 keep every block inside one thread.
    let chunk = out.len().div_ceil(threads).next_multiple_of(4);
    std::thread::scope(|s| {
        for (j, part) in out.chunks_mut(chunk).enumerate() {
            s.spawn(move || fill_normal_f32_at(key, j * chunk, part));
        }
    });
}

/// `x[i] += sigma * N(0,1)` (element `i` of the stream).
pub fn add_normal_f32(key: &NoiseKey, sigma: f32, x: &mut [f32]) {
    add_normal_f32_at(key, 0, sigma, x);
}

/// `x[j] += sigma * N(0,1)` with element `start + j` of the stream: normals from the lane fill,
/// 256 at a time into a stack buffer (no allocation).
pub fn add_normal_f32_at(key: &NoiseKey, start: usize, sigma: f32, x: &mut [f32]) {
    const CHUNK: usize = 256;
    let mut z = [0f32; CHUNK];
    for (c, chunk) in x.chunks_mut(CHUNK).enumerate() {
        let zc = &mut z[..chunk.len()];
        fill_normal_f32_at(key, start + c * CHUNK, zc);
        for (v, &zi) in chunk.iter_mut().zip(zc.iter()) {
            *v += sigma * zi;
        }
    }
}

/// `out[i] = N(0,1)` in `f64`; element `i` reads block `offset + i / 2`.
pub fn fill_normal_f64(key: &NoiseKey, out: &mut [f64]) {
    let whole = out.len() / 2 * 2;
    let (body, tail) = out.split_at_mut(whole);
    fill_pairs_f64(key, body);
    if let [last] = tail {
        *last = normal2_f64(key, (whole / 2) as u64)[0];
    }
}

/// Normals of blocks `0..out.len() / 2` into `out` (even length), two per block.
fn fill_pairs_f64(key: &NoiseKey, out: &mut [f64]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); the function is otherwise safe.
            unsafe { fill_pairs_f64_avx2(key, out) };
            return;
        }
    }
    fill_pairs_f64_lanes(key, out, philox_lanes);
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn fill_pairs_f64_avx2(key: &NoiseKey, out: &mut [f64]) {
    // Same code, compiled for AVX2 (no FMA contraction in Rust: identical bits).
    // SAFETY (closure): this function only runs where AVX2 was detected.
    fill_pairs_f64_lanes(key, out, |x, k| unsafe { philox_lanes_avx2(x, k) })
}

#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn fill_pairs_f64_lanes(
    key: &NoiseKey,
    out: &mut [f64],
    philox: impl Fn(&mut [[u32; LANES]; 4], [u32; 2]),
) {
    let k = [key.seed as u32, (key.seed >> 32) as u32];
    let mut chunks = out.chunks_exact_mut(2 * LANES);
    let mut block = 0u64;
    for chunk in &mut chunks {
        let x = lane_words(key, key.offset.wrapping_add(block), k, &philox);
        let mut z = [[0f64; LANES]; 2];
        for l in 0..LANES {
            let (a, b) = box_muller_f64(
                unit_f64_lanes(x[0][l], x[1][l]),
                unit_f64_lanes(x[2][l], x[3][l]),
            );
            z[0][l] = a;
            z[1][l] = b;
        }
        for (l, o) in chunk.chunks_exact_mut(2).enumerate() {
            o[0] = z[0][l];
            o[1] = z[1][l];
        }
        block += LANES as u64;
    }
    for (l, o) in chunks.into_remainder().chunks_exact_mut(2).enumerate() {
        let z = normal2_f64(key, block + l as u64);
        o.copy_from_slice(&z);
    }
}

/// [`u64_to_unit_f64`] without a `u64 -> f64` conversion (AVX2 has none): the 53-bit value
/// `v = (x >> 11) + 1 <= 2^53` is split in two halves below 2^32, each converted exactly through
/// the `2^52` exponent trick, and recombined exactly. Same bits as `u64_to_unit_f64`.
#[inline(always)]
fn unit_f64_lanes(lo: u32, hi: u32) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let v = ((((hi as u64) << 32) | lo as u64) >> 11) + 1;
    let exact = |w: u64| f64::from_bits(0x4330_0000_0000_0000 | w) - TWO52;
    (exact(v >> 32) * 4_294_967_296.0 + exact(v & 0xffff_ffff)) * (1.0 / 9_007_199_254_740_992.0)
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

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[allow(clippy::needless_range_loop)]
    #[test]
    fn simd_philox_lanes_equal_the_portable_ones() {
        type Lanes = unsafe fn(&mut [[u32; LANES]; 4], [u32; 2]);
        let paths: [(&str, Lanes); 2] = [
            ("avx2", philox_lanes_avx2),
            ("avx512f", philox_lanes_avx512),
        ];
        for (feature, simd) in paths {
            let present = match feature {
                "avx2" => std::is_x86_feature_detected!("avx2"),
                _ => std::is_x86_feature_detected!("avx512f"),
            };
            if !present {
                std::println!("SKIP {feature} philox: this CPU lacks it");
                continue;
            }
            for (seed, base) in [
                (0u64, 0u64),
                (0xDEAD_BEEF_0123_4567, u64::MAX - 7),
                (5, 1 << 33),
            ] {
                let mut a = [[0u32; LANES]; 4];
                for l in 0..LANES {
                    let b = base.wrapping_add(l as u64);
                    a[0][l] = b as u32;
                    a[1][l] = (b >> 32) as u32;
                    a[2][l] = 9;
                }
                let mut b = a;
                let k = [seed as u32, (seed >> 32) as u32];
                philox_lanes(&mut a, k);
                // SAFETY: the CPU has the feature (detected above).
                unsafe { simd(&mut b, k) };
                assert_eq!(a, b, "{feature}");
                for l in 0..LANES {
                    let c = base.wrapping_add(l as u64);
                    let w = philox4x32_10([c as u32, (c >> 32) as u32, 9, 0], k);
                    assert_eq!([a[0][l], a[1][l], a[2][l], a[3][l]], w);
                }
            }
        }
    }

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[test]
    fn every_fill_path_gives_the_same_bits() {
        // The AVX-512, AVX2 and portable fills of 1000 blocks agree bit for bit.
        let key = NoiseKey::new(77, 3);
        let mut want = vec![0f32; 4000];
        fill_blocks_lanes(&key, 5, &mut want, philox_lanes);
        if std::is_x86_feature_detected!("avx2") {
            let mut got = vec![0f32; 4000];
            // SAFETY: AVX2 detected.
            unsafe { fill_blocks_avx2(&key, 5, &mut got) };
            assert_eq!(got, want);
        }
        if std::is_x86_feature_detected!("avx512f") {
            let mut got = vec![0f32; 4000];
            // SAFETY: AVX-512F detected.
            unsafe { fill_blocks_avx512(&key, 5, &mut got) };
            assert_eq!(got, want);
        }
    }

    #[test]
    fn f64_fill_equals_block_by_block_reference() {
        for (lo, hi) in [
            (0, 0),
            (u32::MAX, u32::MAX),
            (0x7ff, 0),
            (0x800, 0),
            (123, 0x8000_0000),
        ] {
            assert_eq!(
                unit_f64_lanes(lo, hi).to_bits(),
                u64_to_unit_f64(lo, hi).to_bits()
            );
        }
        let key = NoiseKey::new(77, 4).advanced(1_000_003);
        let mut buf = [0f64; 97];
        for n in [0, 1, 2, 31, 32, 33, 97] {
            let z = &mut buf[..n];
            fill_normal_f64(&key, z);
            for (i, &v) in z.iter().enumerate() {
                assert_eq!(
                    v.to_bits(),
                    normal2_f64(&key, (i / 2) as u64)[i % 2].to_bits()
                );
            }
        }
    }

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
    fn lane_path_equals_block_by_block_reference() {
        // 1000 elements cover whole lane chunks, a remainder and unaligned starts; offset != 0.
        let key = NoiseKey {
            seed: 0x1234_5678_9abc,
            stream: 3,
            offset: (1u64 << 32) - 5,
        };
        let mut reference = [0f32; 1000];
        for (b, chunk) in reference.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(&normal4_f32(&key, b as u64));
        }
        for start in [0usize, 1, 3, 4, 64, 130] {
            let mut out = [0f32; 1000];
            fill_normal_f32_at(&key, start, &mut out[..1000 - start]);
            assert!(
                out[..1000 - start]
                    .iter()
                    .zip(&reference[start..])
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "start {start}"
            );
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

    #[cfg(feature = "std")]
    #[test]
    fn parallel_fill_is_bit_identical_for_any_thread_count() {
        let key = NoiseKey::new(11, 2);
        let mut one = std::vec![0f32; 200_003];
        fill_normal_f32_par(&key, &mut one, 1);
        for threads in [2, 3, 8] {
            let mut many = std::vec![0f32; 200_003];
            fill_normal_f32_par(&key, &mut many, threads);
            assert!(one
                .iter()
                .zip(&many)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
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
        // Offsets and lengths that cut blocks and chunks: element `start + j` of the stream.
        for (start, n) in [(3usize, 600usize), (256, 257), (1001, 5)] {
            let mut x = [2f32; 600];
            add_normal_f32_at(&key, start, -1.5, &mut x[..n]);
            let mut want = [2f32; 600];
            for_each_normal_f32(&key, start, n, |i, v| want[i - start] += -1.5 * v);
            assert_eq!(x, want, "start {start} n {n}");
        }
    }
}
