//! Radix-2 complex FFT on split (real, imaginary) slices, `no_std`.
//!
//! Used by the Davies-Harte sampler ([`super::davies_harte`]). Why our own: `rustfft` needs `std`,
//! and `microfft` only handles fixed sizes up to 2^15, while Davies-Harte at n = 2^20 needs a
//! transform of length 2^21. An iterative Cooley-Tukey decimation-in-time transform
//! (bit-reversal permutation, then log2 M butterfly passes) is enough: the sampler spends most of
//! its time drawing normals and in memory passes, not in twiddle arithmetic.
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
        return Err(Error::invalid("fft length", m as f64, "a power of two >= 2"));
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
    crate::error::check::same_len("fft twiddles (re)", m / 2, tw_re.len())?;
    crate::error::check::same_len("fft twiddles (im)", m / 2, tw_im.len())?;
    let bits = m.trailing_zeros();
    // Bit-reversal permutation.
    for i in 0..m {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    // First pass (len 2) has only the twiddle 1.
    for (r, i) in re.chunks_exact_mut(2).zip(im.chunks_exact_mut(2)) {
        let (ar, ai, br, bi) = (r[0], i[0], r[1], i[1]);
        r[0] = ar + br;
        i[0] = ai + bi;
        r[1] = ar - br;
        i[1] = ai - bi;
    }
    let mut half = 2;
    while half < m {
        let stride = m / (2 * half);
        for (r, i) in re.chunks_exact_mut(2 * half).zip(im.chunks_exact_mut(2 * half)) {
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
        half *= 2;
    }
    Ok(())
}

/// An FFT plan: the twiddle table for one length, computed once.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct Fft {
    tw_re: alloc::vec::Vec<f64>,
    tw_im: alloc::vec::Vec<f64>,
    m: usize,
}

#[cfg(feature = "alloc")]
impl Fft {
    /// A plan for length `m` (a power of two `>= 2`).
    pub fn new(m: usize) -> Result<Self> {
        if !is_pow2(m) || m < 2 {
            return Err(Error::invalid("fft length", m as f64, "a power of two >= 2"));
        }
        let mut tw_re = alloc::vec![0.0; m / 2];
        let mut tw_im = alloc::vec![0.0; m / 2];
        twiddles(m, &mut tw_re, &mut tw_im)?;
        Ok(Self { tw_re, tw_im, m })
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
        fft_in_place(re, im, &self.tw_re, &self.tw_im)
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
        for &m in &[2usize, 4, 8, 64, 256] {
            let re0: Vec<f64> = (0..m).map(|j| ((j * 7 + 3) % 11) as f64 - 5.0).collect();
            let im0: Vec<f64> = (0..m).map(|j| ((j * 5 + 1) % 13) as f64 * 0.5).collect();
            let (wr, wi) = naive(&re0, &im0);
            let plan = Fft::new(m).unwrap();
            let (mut re, mut im) = (re0.clone(), im0.clone());
            plan.forward(&mut re, &mut im).unwrap();
            for k in 0..m {
                assert!((re[k] - wr[k]).abs() < 1e-9 * m as f64, "m {m} k {k}");
                assert!((im[k] - wi[k]).abs() < 1e-9 * m as f64, "m {m} k {k}");
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
