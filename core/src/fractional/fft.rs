//! Complex FFT for the Davies-Harte sampler ([`super::davies_harte`]).
//!
//! With `std`, the [`Fft`] plan is `rustfft`'s (SIMD, cache-blocked: 27 ms for a length-2^21
//! `f64` transform here against 169 ms for the radix-2 code below). Without `std` (`rustfft`
//! needs it, and `microfft` only handles fixed sizes up to 2^15 while Davies-Harte at n = 2^20
//! needs 2^21) the plan runs the `no_std` radix-2 transform of this file on split (real,
//! imaginary) slices: iterative Cooley-Tukey decimation in time (bit-reversal permutation, then
//! log2 M butterfly passes, two fused per sweep). The two agree to rounding (tested).
//!
//! Convention: forward transform `X_k = sum_j x_j exp(-2 pi i j k / M)`, unnormalised.
//! Cost: `M log2 M / 2` complex butterflies, `O(M)` extra memory for the twiddle table
//! (`M / 2` entries, computed once per length and reusable).

use crate::error::{Error, Result};

/// Whether `m` is a power of two `>= 1`.
pub fn is_pow2(m: usize) -> bool {
    m != 0 && m & (m - 1) == 0
}

/// Fills the twiddle table `w_k = exp(-2 pi i k / m)`, `k = 0..m/2`, into `re`, `im`
/// (both of length `m / 2`).
pub fn twiddles(m: usize, re: &mut [f64], im: &mut [f64]) -> Result<()> {
    if !is_pow2(m) || m < 2 {
        return Err(Error::invalid(
            "fft length",
            m as f64,
            "a power of two >= 2",
        ));
    }
    crate::error::check::same_len("fft twiddles (re)", m / 2, re.len())?;
    crate::error::check::same_len("fft twiddles (im)", m / 2, im.len())?;
    let step = -2.0 * core::f64::consts::PI / m as f64;
    for (k, (r, i)) in re.iter_mut().zip(im.iter_mut()).enumerate() {
        let (s, c) = libm::sincos(step * k as f64);
        *r = c;
        *i = s;
    }
    Ok(())
}

/// In-place forward FFT of `re + i im` (length `M`, a power of two), with the twiddle table of
/// [`twiddles`] for the same `M` (`tw_re`, `tw_im` of length `M / 2`). `M = 1` is the identity.
pub fn fft_in_place(re: &mut [f64], im: &mut [f64], tw_re: &[f64], tw_im: &[f64]) -> Result<()> {
    let m = re.len();
    crate::error::check::same_len("fft (im)", m, im.len())?;
    if m <= 1 {
        return Ok(());
    }
    if !is_pow2(m) {
        return Err(Error::invalid("fft length", m as f64, "a power of two"));
    }
    let bits = m.trailing_zeros();
    for i in 0..m {
        let j = bit_reverse(i, bits);
        if j > i {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    fft_bitrev_input(re, im, tw_re, tw_im)
}

/// Index `i` with its lowest `bits` bits reversed.
#[inline]
pub fn bit_reverse(i: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Elements per cache block: the butterfly passes of length up to `BLOCK` run block by block
/// (each block stays in L1/L2 while its first `log2 BLOCK` passes run).
const BLOCK: usize = 1 << 11;

/// Forward FFT whose input is already in bit-reversed order (output in natural order): the
/// butterfly passes of [`fft_in_place`] without the permutation. Samplers whose input is white
/// noise can write it straight into bit-reversed positions and skip the permutation, a random-access
/// pass over the whole array.
pub fn fft_bitrev_input(
    re: &mut [f64],
    im: &mut [f64],
    tw_re: &[f64],
    tw_im: &[f64],
) -> Result<()> {
    let m = re.len();
    crate::error::check::same_len("fft (im)", m, im.len())?;
    if m <= 1 {
        return Ok(());
    }
    if !is_pow2(m) {
        return Err(Error::invalid("fft length", m as f64, "a power of two"));
    }
    crate::error::check::same_len("fft twiddles (re)", m / 2, tw_re.len())?;
    crate::error::check::same_len("fft twiddles (im)", m / 2, tw_im.len())?;
    let block = BLOCK.min(m);
    for (rb, ib) in re.chunks_exact_mut(block).zip(im.chunks_exact_mut(block)) {
        // First pass (len 2) has only the twiddle 1.
        for (r, i) in rb.chunks_exact_mut(2).zip(ib.chunks_exact_mut(2)) {
            let (ar, ai, br, bi) = (r[0], i[0], r[1], i[1]);
            r[0] = ar + br;
            i[0] = ai + bi;
            r[1] = ar - br;
            i[1] = ai - bi;
        }
        let mut half = 2;
        while half < block {
            pass(rb, ib, half, m / (2 * half), tw_re, tw_im)?;
            half *= 2;
        }
    }
    // Passes over the whole array, two at a time (radix-2^2: half the memory sweeps).
    let mut half = block;
    while 4 * half <= m {
        pass2(re, im, half, m / (2 * half), tw_re, tw_im)?;
        half *= 4;
    }
    if half < m {
        pass(re, im, half, m / (2 * half), tw_re, tw_im)?;
    }
    Ok(())
}

#[inline]
fn tw(tw_re: &[f64], tw_im: &[f64], k: usize) -> Result<(f64, f64)> {
    match (tw_re.get(k), tw_im.get(k)) {
        (Some(&wr), Some(&wi)) => Ok((wr, wi)),
        _ => Err(Error::Numerical("fft twiddle index out of range")),
    }
}

/// Two consecutive radix-2 passes (spans `half` and `2 half`) fused over quadruples
/// `(j, j + half, j + 2 half, j + 3 half)`; `stride` is the twiddle stride of the first pass.
fn pass2(
    re: &mut [f64],
    im: &mut [f64],
    half: usize,
    stride: usize,
    tw_re: &[f64],
    tw_im: &[f64],
) -> Result<()> {
    let s2 = stride / 2;
    for (r, i) in re
        .chunks_exact_mut(4 * half)
        .zip(im.chunks_exact_mut(4 * half))
    {
        let (r01, r23) = r.split_at_mut(2 * half);
        let (i01, i23) = i.split_at_mut(2 * half);
        let (r0, r1) = r01.split_at_mut(half);
        let (r2, r3) = r23.split_at_mut(half);
        let (i0, i1) = i01.split_at_mut(half);
        let (i2, i3) = i23.split_at_mut(half);
        for j in 0..half {
            let (wa_r, wa_i) = tw(tw_re, tw_im, j * stride)?;
            let (wb_r, wb_i) = tw(tw_re, tw_im, j * s2)?;
            let (wc_r, wc_i) = tw(tw_re, tw_im, (j + half) * s2)?;
            // First pass: (0, 1) and (2, 3) with twiddle a.
            let (t1r, t1i) = (wa_r * r1[j] - wa_i * i1[j], wa_r * i1[j] + wa_i * r1[j]);
            let (x0r, x0i, x1r, x1i) = (r0[j] + t1r, i0[j] + t1i, r0[j] - t1r, i0[j] - t1i);
            let (t3r, t3i) = (wa_r * r3[j] - wa_i * i3[j], wa_r * i3[j] + wa_i * r3[j]);
            let (x2r, x2i, x3r, x3i) = (r2[j] + t3r, i2[j] + t3i, r2[j] - t3r, i2[j] - t3i);
            // Second pass: (0, 2) with twiddle b, (1, 3) with twiddle c.
            let (u2r, u2i) = (wb_r * x2r - wb_i * x2i, wb_r * x2i + wb_i * x2r);
            let (u3r, u3i) = (wc_r * x3r - wc_i * x3i, wc_r * x3i + wc_i * x3r);
            r0[j] = x0r + u2r;
            i0[j] = x0i + u2i;
            r2[j] = x0r - u2r;
            i2[j] = x0i - u2i;
            r1[j] = x1r + u3r;
            i1[j] = x1i + u3i;
            r3[j] = x1r - u3r;
            i3[j] = x1i - u3i;
        }
    }
    Ok(())
}

/// One radix-2 butterfly pass over `re, im` with butterflies of span `half`.
#[inline]
fn pass(
    re: &mut [f64],
    im: &mut [f64],
    half: usize,
    stride: usize,
    tw_re: &[f64],
    tw_im: &[f64],
) -> Result<()> {
    for (r, i) in re
        .chunks_exact_mut(2 * half)
        .zip(im.chunks_exact_mut(2 * half))
    {
        let (r0, r1) = r.split_at_mut(half);
        let (i0, i1) = i.split_at_mut(half);
        for (j, (((a_r, a_i), b_r), b_i)) in r0
            .iter_mut()
            .zip(i0.iter_mut())
            .zip(r1.iter_mut())
            .zip(i1.iter_mut())
            .enumerate()
        {
            let k = j * stride;
            let (wr, wi) = match (tw_re.get(k), tw_im.get(k)) {
                (Some(&wr), Some(&wi)) => (wr, wi),
                _ => return Err(Error::Numerical("fft twiddle index out of range")),
            };
            let tr = wr * *b_r - wi * *b_i;
            let ti = wr * *b_i + wi * *b_r;
            *b_r = *a_r - tr;
            *b_i = *a_i - ti;
            *a_r += tr;
            *a_i += ti;
        }
    }
    Ok(())
}

/// A complex number of the `std` plan's buffers.
#[cfg(feature = "std")]
pub use rustfft::num_complex::Complex64;

/// An FFT plan for one length, computed once: `rustfft`'s under `std`, else the twiddle table
/// of the radix-2 transform.
#[cfg(feature = "alloc")]
#[derive(Clone)]
pub struct Fft {
    m: usize,
    #[cfg(feature = "std")]
    plan: std::sync::Arc<dyn rustfft::Fft<f64>>,
    #[cfg(not(feature = "std"))]
    tw_re: alloc::vec::Vec<f64>,
    #[cfg(not(feature = "std"))]
    tw_im: alloc::vec::Vec<f64>,
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for Fft {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fft").field("m", &self.m).finish()
    }
}

#[cfg(feature = "alloc")]
impl Fft {
    /// A plan for length `m` (a power of two `>= 2`).
    pub fn new(m: usize) -> Result<Self> {
        if !is_pow2(m) || m < 2 {
            return Err(Error::invalid(
                "fft length",
                m as f64,
                "a power of two >= 2",
            ));
        }
        #[cfg(feature = "std")]
        {
            let plan = rustfft::FftPlanner::<f64>::new().plan_fft_forward(m);
            Ok(Self { m, plan })
        }
        #[cfg(not(feature = "std"))]
        {
            let mut tw_re = alloc::vec![0.0; m / 2];
            let mut tw_im = alloc::vec![0.0; m / 2];
            twiddles(m, &mut tw_re, &mut tw_im)?;
            Ok(Self { tw_re, tw_im, m })
        }
    }

    /// The transform length.
    pub fn len(&self) -> usize {
        self.m
    }

    /// Always false (a plan has length >= 2).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// In-place forward transform of `re + i im` (both of the plan's length).
    pub fn forward(&self, re: &mut [f64], im: &mut [f64]) -> Result<()> {
        crate::error::check::same_len("fft (re)", self.m, re.len())?;
        crate::error::check::same_len("fft (im)", self.m, im.len())?;
        #[cfg(feature = "std")]
        {
            let mut buf: alloc::vec::Vec<Complex64> = re
                .iter()
                .zip(im.iter())
                .map(|(&r, &i)| Complex64::new(r, i))
                .collect();
            self.plan.process(&mut buf);
            for ((r, i), c) in re.iter_mut().zip(im.iter_mut()).zip(&buf) {
                (*r, *i) = (c.re, c.im);
            }
            Ok(())
        }
        #[cfg(not(feature = "std"))]
        {
            fft_in_place(re, im, &self.tw_re, &self.tw_im)
        }
    }

    /// Scratch length [`Fft::forward_complex`] needs.
    #[cfg(feature = "std")]
    pub fn scratch_len(&self) -> usize {
        self.plan.get_inplace_scratch_len()
    }

    /// In-place forward transform of an interleaved buffer (the plan's length) with caller-owned
    /// scratch of at least [`Fft::scratch_len`] (no allocation per call).
    #[cfg(feature = "std")]
    pub fn forward_complex(&self, buf: &mut [Complex64], scratch: &mut [Complex64]) -> Result<()> {
        crate::error::check::same_len("fft (buffer)", self.m, buf.len())?;
        if scratch.len() < self.scratch_len() {
            return Err(Error::invalid(
                "fft scratch length",
                scratch.len() as f64,
                ">= Fft::scratch_len()",
            ));
        }
        self.plan.process_with_scratch(buf, scratch);
        Ok(())
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn naive(re: &[f64], im: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let m = re.len();
        let mut or = alloc::vec![0.0; m];
        let mut oi = alloc::vec![0.0; m];
        for k in 0..m {
            for j in 0..m {
                let a = -2.0 * core::f64::consts::PI * (j * k) as f64 / m as f64;
                or[k] += re[j] * a.cos() - im[j] * a.sin();
                oi[k] += re[j] * a.sin() + im[j] * a.cos();
            }
        }
        (or, oi)
    }

    #[test]
    fn matches_naive_dft() {
        for &m in &[2usize, 4, 8, 64, 256, 4096, 8192, 16384, 65536] {
            let re0: Vec<f64> = (0..m).map(|j| ((j * 7 + 3) % 11) as f64 - 5.0).collect();
            let im0: Vec<f64> = (0..m).map(|j| ((j * 5 + 1) % 13) as f64 * 0.5).collect();
            let plan = Fft::new(m).unwrap();
            let (mut re, mut im) = (re0.clone(), im0.clone());
            plan.forward(&mut re, &mut im).unwrap();
            // The radix-2 transform (the plan itself under `std` is rustfft's), from natural and
            // from bit-reversed input, agrees with the plan.
            let (mut tr, mut ti) = (alloc::vec![0.0; m / 2], alloc::vec![0.0; m / 2]);
            twiddles(m, &mut tr, &mut ti).unwrap();
            let (mut nr, mut ni) = (re0.clone(), im0.clone());
            fft_in_place(&mut nr, &mut ni, &tr, &ti).unwrap();
            let bits = m.trailing_zeros();
            let mut br: Vec<f64> = (0..m).map(|j| re0[bit_reverse(j, bits)]).collect();
            let mut bi: Vec<f64> = (0..m).map(|j| im0[bit_reverse(j, bits)]).collect();
            fft_bitrev_input(&mut br, &mut bi, &tr, &ti).unwrap();
            for k in 0..m {
                for (xr, xi) in [(br[k], bi[k]), (nr[k], ni[k])] {
                    assert!(
                        (xr - re[k]).abs() < 1e-12 * m as f64
                            && (xi - im[k]).abs() < 1e-12 * m as f64,
                        "m {m} k {k}"
                    );
                }
            }
            if m > 256 {
                continue; // the naive DFT is O(m^2); large sizes are checked by `known_transforms_large`
            }
            let (wr, wi) = naive(&re0, &im0);
            for k in 0..m {
                assert!((re[k] - wr[k]).abs() < 1e-9 * m as f64, "m {m} k {k}");
                assert!((im[k] - wi[k]).abs() < 1e-9 * m as f64, "m {m} k {k}");
            }
        }
    }

    /// Large sizes (blocked and fused passes): an impulse at `j0` transforms to
    /// `exp(-2 pi i j0 k / M)`, and `exp(2 pi i k0 j / M)` to `M delta_{k k0}`.
    #[test]
    fn known_transforms_large() {
        for &m in &[4096usize, 8192, 1 << 16, 1 << 17] {
            let plan = Fft::new(m).unwrap();
            let j0 = 12345 % m;
            let (mut re, mut im) = (alloc::vec![0.0; m], alloc::vec![0.0; m]);
            re[j0] = 1.0;
            plan.forward(&mut re, &mut im).unwrap();
            for k in (0..m).step_by(97) {
                let a = -2.0 * core::f64::consts::PI * ((j0 * k) % m) as f64 / m as f64;
                assert!(
                    (re[k] - a.cos()).abs() < 1e-9 && (im[k] - a.sin()).abs() < 1e-9,
                    "m {m} k {k}"
                );
            }
            let k0 = 777 % m;
            let mut re: Vec<f64> = (0..m)
                .map(|j| (2.0 * core::f64::consts::PI * ((k0 * j) % m) as f64 / m as f64).cos())
                .collect();
            let mut im: Vec<f64> = (0..m)
                .map(|j| (2.0 * core::f64::consts::PI * ((k0 * j) % m) as f64 / m as f64).sin())
                .collect();
            plan.forward(&mut re, &mut im).unwrap();
            for k in 0..m {
                let want = if k == k0 { m as f64 } else { 0.0 };
                assert!(
                    (re[k] - want).abs() < 1e-7 && im[k].abs() < 1e-7,
                    "m {m} k {k}: {}",
                    re[k]
                );
            }
        }
    }

    #[test]
    fn bad_lengths_are_typed_errors() {
        assert!(matches!(Fft::new(6), Err(Error::InvalidParam { .. })));
        assert!(matches!(Fft::new(0), Err(Error::InvalidParam { .. })));
        let (mut re, mut im) = (alloc::vec![0.0; 6], alloc::vec![0.0; 6]);
        assert!(fft_in_place(&mut re, &mut im, &[0.0; 3], &[0.0; 3]).is_err());
        let plan = Fft::new(8).unwrap();
        assert!(matches!(
            plan.forward(&mut [0.0; 4], &mut [0.0; 4]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
