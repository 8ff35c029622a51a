//! Exact fractional Gaussian noise / fBM by circulant embedding (Davies-Harte, Wood-Chan).
//!
//! Papers: Davies & Harte, "Tests for Hurst effect", Biometrika 1987; Wood & Chan, "Simulation of
//! stationary Gaussian processes in [0,1]^d", JCGS 1994. Spec 08 section 6 (Daems et al. 2023,
//! arXiv 2310.12975) uses it as the exact reference.
//!
//! Autocovariance of unit-step fGn: `rho_k = (|k+1|^2H - 2 k^2H + |k-1|^2H) / 2`. The embedding
//! length is `M = 2 m`, `m` the smallest power of two `>= n`; circulant first row
//! `c = [rho_0, ..., rho_m, rho_{m-1}, ..., rho_1]` (`rho_m` at the centre, not 0 as in the `fbm`
//! package, so the embedding is a true covariance: crflynn/stochastic PR #27), eigenvalues
//! `lambda = FFT(c)` (real). If `min lambda < -1e-10` the embedding is not PSD -> `Numerical`
//! (never for fGn with `H` in (0,1) in exact arithmetic; we do not fall back silently to Hosking).
//! Sampling: `w = sqrt(lambda / M) (a + i b)`, `a, b ~ N(0, I_M)`, `x = FFT(w)`; `Re x[0..n]` and
//! `Im x[0..n]` are two independent fGn paths. fBM on `[0, T]`: scale by `(T/n)^H`, cumulative sum,
//! `X_0 = 0` (n + 1 points, like `fbm`).
//! FFT: the [`super::fft::Fft`] plan (`rustfft` under `std`, the `no_std` radix-2 transform
//! otherwise); the eigenvalues and the plan are computed once per `(n, H)` when the sampler is
//! built (the cache); a pair of paths costs `2M` normals and one length-`M` complex FFT
//! (`O(M log M)`). The two builds give the same paths up to the transforms' rounding.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

#[cfg(feature = "std")]
use super::fft::Complex64;
use super::fft::Fft;
use crate::error::{check, Error, Result};
use crate::rng::seq;

/// fGn autocovariance at lag `k` for unit steps.
pub fn fgn_autocov(h: f64, k: usize) -> f64 {
    let p = 2.0 * h;
    let k = k as f64;
    0.5 * (libm::pow(k + 1.0, p) - 2.0 * libm::pow(k, p) + libm::pow((k - 1.0).abs(), p))
}

/// Davies-Harte sampler for `n` steps of fBM with Hurst `h` on `[0, T]`; holds the cached
/// eigenvalues, the FFT plan and scratch buffers.
#[derive(Debug, Clone)]
pub struct DaviesHarte {
    n: usize,
    h: f64,
    scale: f64,
    /// `sqrt(lambda_k / M)`, natural order.
    sqrt_lam: Vec<f64>,
    fft: Fft,
    #[cfg(feature = "std")]
    buf: Vec<Complex64>,
    #[cfg(feature = "std")]
    scratch: Vec<Complex64>,
    #[cfg(not(feature = "std"))]
    re: Vec<f64>,
    #[cfg(not(feature = "std"))]
    im: Vec<f64>,
    spare: Option<Vec<f64>>,
}

impl DaviesHarte {
    /// Computes the embedding eigenvalues for `n >= 1` steps, `H` in `(0, 1)`, horizon `T > 0`.
    pub fn new(n: usize, h: f64, t: f64) -> Result<Self> {
        check::nonzero("n", n)?;
        check::open("H", h, 0.0, 1.0, "in (0, 1)")?;
        check::positive("T", t)?;
        let m_half = n
            .checked_next_power_of_two()
            .filter(|&m| m <= usize::MAX / 4)
            .ok_or(Error::invalid(
                "n",
                n as f64,
                "small enough for the embedding",
            ))?;
        let m = 2 * m_half;
        let fft = Fft::new(m)?;
        let mut re = vec![0.0; m];
        let mut im = vec![0.0; m];
        // rho_k = (p_{k+1} - 2 p_k + p_{k-1}) / 2 with p_k = k^2H: one pow per lag.
        let pw: Vec<f64> = (0..=m_half + 1)
            .map(|k| libm::pow(k as f64, 2.0 * h))
            .collect();
        for (k, r) in re.iter_mut().enumerate() {
            let lag = if k <= m_half { k } else { m - k };
            *r = if lag == 0 {
                1.0
            } else {
                0.5 * (pw[lag + 1] - 2.0 * pw[lag] + pw[lag - 1])
            };
        }
        fft.forward(&mut re, &mut im)?;
        let mut sqrt_lam = vec![0.0; m];
        for (s, &l) in sqrt_lam.iter_mut().zip(&re) {
            if l < -1e-10 {
                return Err(Error::Numerical(
                    "circulant embedding is not positive semi-definite",
                ));
            }
            *s = libm::sqrt(l.max(0.0) / m as f64);
        }
        Ok(Self {
            n,
            h,
            scale: libm::pow(t / n as f64, h),
            sqrt_lam,
            #[cfg(feature = "std")]
            buf: vec![Complex64::new(0.0, 0.0); m],
            #[cfg(feature = "std")]
            scratch: vec![Complex64::new(0.0, 0.0); fft.scratch_len()],
            #[cfg(not(feature = "std"))]
            re,
            #[cfg(not(feature = "std"))]
            im,
            fft,
            spare: None,
        })
    }

    /// Number of steps `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Hurst index.
    pub fn hurst(&self) -> f64 {
        self.h
    }

    /// Embedding length `M`.
    pub fn embedding_len(&self) -> usize {
        self.sqrt_lam.len()
    }

    /// The embedding eigenvalues `lambda_k`, natural order (recomputed from the cache).
    pub fn eigenvalues(&self) -> Vec<f64> {
        let m = self.sqrt_lam.len() as f64;
        self.sqrt_lam.iter().map(|s| s * s * m).collect()
    }

    /// Two independent unit-step fGn paths of length `n` into `a`, `b`.
    pub fn fgn_pair<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        a: &mut [f64],
        b: &mut [f64],
    ) -> Result<()> {
        check::same_len("DaviesHarte::fgn_pair (a)", self.n, a.len())?;
        check::same_len("DaviesHarte::fgn_pair (b)", self.n, b.len())?;
        #[cfg(feature = "std")]
        {
            for (c, &s) in self.buf.iter_mut().zip(&self.sqrt_lam) {
                let re = s * seq::normal(rng);
                *c = Complex64::new(re, s * seq::normal(rng));
            }
            self.fft.forward_complex(&mut self.buf, &mut self.scratch)?;
            for ((x, y), c) in a.iter_mut().zip(b.iter_mut()).zip(&self.buf) {
                (*x, *y) = (c.re, c.im);
            }
        }
        #[cfg(not(feature = "std"))]
        {
            for ((r, i), &s) in self
                .re
                .iter_mut()
                .zip(self.im.iter_mut())
                .zip(&self.sqrt_lam)
            {
                *r = s * seq::normal(rng);
                *i = s * seq::normal(rng);
            }
            self.fft.forward(&mut self.re, &mut self.im)?;
            a.copy_from_slice(&self.re[..self.n]);
            b.copy_from_slice(&self.im[..self.n]);
        }
        Ok(())
    }

    /// Two independent fBM paths (`n + 1` points each, `X_0 = 0`) into `a`, `b`.
    pub fn fbm_pair<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        a: &mut [f64],
        b: &mut [f64],
    ) -> Result<()> {
        check::same_len("DaviesHarte::fbm_pair (a)", self.n + 1, a.len())?;
        check::same_len("DaviesHarte::fbm_pair (b)", self.n + 1, b.len())?;
        self.fgn_pair(rng, &mut a[1..], &mut b[1..])?;
        for x in [a, b] {
            x[0] = 0.0;
            let mut acc = 0.0;
            for v in x[1..].iter_mut() {
                acc += *v * self.scale;
                *v = acc;
            }
        }
        Ok(())
    }

    /// One fBM path (`n + 1` points, `X_0 = 0`) into `out`. Every second call returns the
    /// independent imaginary-part path kept from the previous transform, so the amortised cost is
    /// half a transform per path.
    pub fn fbm<R: Rng + ?Sized>(&mut self, rng: &mut R, out: &mut [f64]) -> Result<()> {
        check::same_len("DaviesHarte::fbm (out)", self.n + 1, out.len())?;
        if let Some(s) = self.spare.take() {
            out.copy_from_slice(&s);
            return Ok(());
        }
        let mut other = vec![0.0; self.n + 1];
        self.fbm_pair(rng, out, &mut other)?;
        self.spare = Some(other);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_match_spec() {
        let dh = DaviesHarte::new(4, 0.7, 1.0).unwrap();
        let rho = [1.0, 0.3195079108, 0.1887525393, 0.1461734422, 0.1224987013];
        for (k, r) in rho.iter().enumerate() {
            assert!((fgn_autocov(0.7, k) - r).abs() < 1e-10);
        }
        let want = [
            2.4313664859,
            1.122633255,
            0.7449936226,
            0.6323693424,
            0.568641074,
            0.6323693424,
            0.7449936226,
            1.122633255,
        ];
        let lam = dh.eigenvalues();
        for (l, w) in lam.iter().zip(want) {
            assert!((l - w).abs() < 1e-9, "{l} vs {w}");
        }
        assert!((lam.iter().sum::<f64>() - 8.0).abs() < 1e-12);
        let dh = DaviesHarte::new(4, 0.3, 1.0).unwrap();
        let want = [
            0.3466728797,
            0.7127556967,
            1.0807093028,
            1.3223278739,
            1.4217413734,
            1.3223278739,
            1.0807093028,
            0.7127556967,
        ];
        for (l, w) in dh.eigenvalues().iter().zip(want) {
            assert!((l - w).abs() < 1e-9, "{l} vs {w}");
        }
    }

    #[test]
    fn fgn_moments_within_3_se() {
        // Lag-0 variance 1 and lag-1 autocovariance rho_1 of fGn, n = 2^16, averaged over both
        // paths of a pair: SE from the fGn spectral formula is about sqrt(2 sum rho_k^2 / n).
        let n = 1 << 16;
        let h = 0.7;
        let mut dh = DaviesHarte::new(n, h, 1.0).unwrap();
        let mut rng = crate::rng::default_rng(9);
        let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
        dh.fgn_pair(&mut rng, &mut a, &mut b).unwrap();
        let sum_rho2: f64 = (0..n).map(|k| fgn_autocov(h, k).powi(2)).sum::<f64>() * 2.0 - 1.0;
        let se = (2.0 * sum_rho2 / n as f64).sqrt();
        for x in [&a, &b] {
            let v0 = x.iter().map(|v| v * v).sum::<f64>() / n as f64;
            assert!((v0 - 1.0).abs() < 3.0 * se, "var {v0} se {se}");
            let v1 = x.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / (n - 1) as f64;
            assert!((v1 - fgn_autocov(h, 1)).abs() < 3.0 * se, "lag1 {v1}");
        }
    }

    #[test]
    fn non_power_of_two_and_fbm_endpoints() {
        let mut dh = DaviesHarte::new(100, 0.4, 2.0).unwrap();
        assert_eq!(dh.embedding_len(), 256);
        let mut rng = crate::rng::default_rng(1);
        let paths = 4000;
        let mut acc = 0.0;
        let mut x = vec![0.0; 101];
        for _ in 0..paths {
            dh.fbm(&mut rng, &mut x).unwrap();
            assert_eq!(x[0], 0.0);
            acc += x[100] * x[100];
        }
        let v = acc / paths as f64;
        let want = libm::pow(2.0, 0.8);
        assert!(
            (v - want).abs() < 5.0 * want * (2.0 / paths as f64).sqrt(),
            "{v} vs {want}"
        );
    }

    #[test]
    fn bad_input_is_typed() {
        assert!(matches!(
            DaviesHarte::new(0, 0.5, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            DaviesHarte::new(8, 0.0, 1.0),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            DaviesHarte::new(8, 0.5, -1.0),
            Err(Error::InvalidParam { .. })
        ));
        let mut dh = DaviesHarte::new(8, 0.5, 1.0).unwrap();
        let mut rng = crate::rng::default_rng(0);
        assert!(matches!(
            dh.fbm(&mut rng, &mut [0.0; 8]),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
