//! Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3" (SC 2011).
//!
//! One call maps a 128-bit counter and a 64-bit key to 128 random bits. Because each block depends
//! only on `(key, counter)`, bulk noise can be produced in any order, by any number of threads or on
//! any device, and the bytes are the same. Reproduces the Random123 known-answer vectors (see tests).
//!
//! Layout used throughout noisekit: key = the 64-bit seed (`k0` = low word, `k1` = high word);
//! counter = `(block_lo, block_hi, stream, 0)` where `block` is a 64-bit block index.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32 block with 10 rounds: `counter`, `key` -> four random words.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut x0, mut x1, mut x2, mut x3] = counter;
    let [mut k0, mut k1] = key;
    let mut round = 0;
    loop {
        let (hi0, lo0) = mulhilo(M0, x0);
        let (hi1, lo1) = mulhilo(M1, x2);
        let n0 = hi1 ^ x1 ^ k0;
        let n2 = hi0 ^ x3 ^ k1;
        x0 = n0;
        x1 = lo1;
        x2 = n2;
        x3 = lo0;
        round += 1;
        if round == 10 {
            return [x0, x1, x2, x3];
        }
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
}

/// Where a stream of counter-based noise starts: the same key gives the same numbers on every
/// backend and for any thread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoiseKey {
    /// The seed (the Philox key).
    pub seed: u64,
    /// An independent stream per purpose (e.g. per parameter tensor or per client).
    pub stream: u32,
    /// First block index; element `i` of a fill reads block `offset + i / 4` (f32) or
    /// `offset + i / 2` (f64).
    pub offset: u64,
}

impl NoiseKey {
    /// A key with offset 0.
    pub const fn new(seed: u64, stream: u32) -> Self {
        Self {
            seed,
            stream,
            offset: 0,
        }
    }

    /// The same key advanced by `blocks` blocks (e.g. to the next training step).
    pub const fn advanced(self, blocks: u64) -> Self {
        Self {
            offset: self.offset.wrapping_add(blocks),
            ..self
        }
    }

    /// The four words of block `index` (relative to `offset`).
    #[inline(always)]
    pub fn block(&self, index: u64) -> [u32; 4] {
        let b = self.offset.wrapping_add(index);
        philox4x32_10(
            [b as u32, (b >> 32) as u32, self.stream, 0],
            [self.seed as u32, (self.seed >> 32) as u32],
        )
    }
}

/// Maps a word to an `f32` uniform in `(0, 1]` using its top 24 bits; never 0, so `ln` is safe.
#[inline(always)]
pub fn u32_to_unit_f32(x: u32) -> f32 {
    ((x >> 8) + 1) as f32 * (1.0 / 16_777_216.0)
}

/// Maps two words to an `f64` uniform in `(0, 1]` using 53 bits; never 0.
#[inline(always)]
pub fn u64_to_unit_f64(lo: u32, hi: u32) -> f64 {
    let x = ((hi as u64) << 32) | lo as u64;
    ((x >> 11) + 1) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// A sequential generator on Philox (counter mode), implementing `rand_core::Rng` so the
/// sequential samplers can draw from a keyed, reproducible stream too.
#[derive(Debug, Clone)]
pub struct PhiloxRng {
    key: NoiseKey,
    block: u64,
    buf: [u32; 4],
    pos: usize,
}

impl PhiloxRng {
    /// Starts at block 0 of `key`.
    pub fn new(key: NoiseKey) -> Self {
        Self {
            key,
            block: 0,
            buf: [0; 4],
            pos: 4,
        }
    }
}

impl rand_core::TryRng for PhiloxRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        if self.pos == 4 {
            self.buf = self.key.block(self.block);
            self.block = self.block.wrapping_add(1);
            self.pos = 0;
        }
        let w = self.buf[self.pos];
        self.pos += 1;
        Ok(w)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = self.try_next_u32()? as u64;
        let hi = self.try_next_u32()? as u64;
        Ok((hi << 32) | lo)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(4) {
            let w = self.try_next_u32()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 known-answer vectors for Philox4x32-10 (kat_vectors in Random123 1.09).
    #[test]
    fn random123_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn key_layout_is_seed_lo_hi_and_counter_is_block_stream() {
        let key = NoiseKey {
            seed: 0x299f31d0_a4093822,
            stream: 0x13198a2e,
            offset: 0x85a308d3_243f6a88,
        };
        // counter (block_lo, block_hi, stream, 0): the third KAT differs in x3, so compare to a direct call.
        assert_eq!(
            key.block(0),
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0],
                [0xa4093822, 0x299f31d0]
            )
        );
    }

    #[test]
    fn unit_maps_stay_in_half_open_interval() {
        assert_eq!(u32_to_unit_f32(0), 1.0 / 16_777_216.0);
        assert_eq!(u32_to_unit_f32(u32::MAX), 1.0);
        assert!(u64_to_unit_f64(0, 0) > 0.0);
        assert_eq!(u64_to_unit_f64(u32::MAX, u32::MAX), 1.0);
    }
}
