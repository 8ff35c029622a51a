//! Batch sampling for DP-SGD, and what the accountant is told about it.
//!
//! - Poisson (the sampling the SGM analysis assumes; Mironov, Talwar, Zhang 2019, arXiv
//!   1908.10530): each of the `n` records enters independently with probability `q`. Drawn by
//!   geometric skips `gap = floor(ln U / ln(1 - q))`, O(q n) expected work.
//! - Fixed size without replacement (Knuth's selection sampling, Algorithm S, O(n)): the common
//!   practice; the engine charges it as Poisson with `q = b / n` and marks the guarantee as
//!   approximate ([`Sampling::exact_accounting`]), as Opacus and TF Privacy do implicitly.
//!
//! Indices are written in increasing order into a caller-provided buffer (no allocation).

use rand_core::Rng;

use crate::error::{Error, Result};
use crate::rng::seq;

/// How batches are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Each record independently with probability `q`.
    Poisson {
        /// Sampling rate in (0, 1].
        q: f64,
    },
    /// Exactly `batch` distinct records, uniformly.
    FixedSize {
        /// Batch size (<= the number of records).
        batch: usize,
    },
}

impl Sampling {
    /// The sampling rate charged to the accountant for `n` records (`q`, or `batch / n`).
    pub fn rate(&self, n: usize) -> Result<f64> {
        match *self {
            Sampling::Poisson { q } => {
                if q > 0.0 && q <= 1.0 {
                    Ok(q)
                } else {
                    Err(Error::invalid("q (sampling rate)", q, "in (0, 1]"))
                }
            }
            Sampling::FixedSize { batch } => {
                if batch == 0 || batch > n {
                    Err(Error::invalid(
                        "batch",
                        batch as f64,
                        "in 1..=n (number of records)",
                    ))
                } else {
                    Ok(batch as f64 / n as f64)
                }
            }
        }
    }

    /// The expected batch size `q n` (the DP-SGD divisor).
    pub fn expected_batch(&self, n: usize) -> Result<f64> {
        Ok(self.rate(n)? * n as f64)
    }

    /// Whether the RDP accountant's (Poisson) analysis is a proven guarantee for this sampling.
    pub fn exact_accounting(&self) -> bool {
        matches!(self, Sampling::Poisson { .. })
    }

    /// Draws one batch of indices from `0..n` into `out` (increasing); returns how many.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: usize, out: &mut [u32]) -> Result<usize> {
        match *self {
            Sampling::Poisson { q } => poisson_sample(rng, n, q, out),
            Sampling::FixedSize { batch } => {
                fixed_size_sample(rng, n, batch, out)?;
                Ok(batch)
            }
        }
    }
}

/// Poisson sampling of `0..n` with rate `q`; returns the batch size. Error
/// [`Error::CapacityExceeded`] if `out` is too small (size it to `q n + 6 sqrt(q n) + 10`).
pub fn poisson_sample<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    q: f64,
    out: &mut [u32],
) -> Result<usize> {
    if !(q > 0.0 && q <= 1.0) {
        return Err(Error::invalid("q (sampling rate)", q, "in (0, 1]"));
    }
    if n > u32::MAX as usize {
        return Err(Error::invalid("n (records)", n as f64, "<= 2^32 - 1"));
    }
    let mut count = 0usize;
    let push = |i: usize, count: &mut usize, out: &mut [u32]| -> Result<()> {
        let slot = out.get_mut(*count).ok_or(Error::CapacityExceeded {
            what: "Poisson batch buffer",
            capacity: 0,
            needed: *count + 1,
        })?;
        *slot = i as u32;
        *count += 1;
        Ok(())
    };
    if q == 1.0 {
        for i in 0..n {
            push(i, &mut count, out).map_err(|_| Error::CapacityExceeded {
                what: "Poisson batch buffer",
                capacity: out.len(),
                needed: n,
            })?;
        }
        return Ok(count);
    }
    let l1q = libm::log1p(-q);
    let mut i = 0usize;
    loop {
        // U in (0, 1]: 1 - uniform[0, 1).
        let u = 1.0 - seq::uniform(rng);
        let gap = libm::floor(libm::log(u) / l1q);
        if gap.is_nan() || gap >= (n - i) as f64 {
            break;
        }
        i += gap as usize;
        if i >= n {
            break;
        }
        push(i, &mut count, out).map_err(|_| Error::CapacityExceeded {
            what: "Poisson batch buffer",
            capacity: out.len(),
            needed: count + 1,
        })?;
        i += 1;
        if i >= n {
            break;
        }
    }
    Ok(count)
}

/// `batch` distinct indices of `0..n`, uniformly, increasing (Knuth Algorithm S) into `out[..batch]`.
pub fn fixed_size_sample<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    batch: usize,
    out: &mut [u32],
) -> Result<()> {
    if batch == 0 || batch > n {
        return Err(Error::invalid(
            "batch",
            batch as f64,
            "in 1..=n (number of records)",
        ));
    }
    if out.len() < batch {
        return Err(Error::CapacityExceeded {
            what: "fixed-size batch buffer",
            capacity: out.len(),
            needed: batch,
        });
    }
    let mut chosen = 0usize;
    for i in 0..n {
        let remaining = (n - i) as f64;
        let need = (batch - chosen) as f64;
        if seq::uniform(rng) * remaining < need {
            out[chosen] = i as u32;
            chosen += 1;
            if chosen == batch {
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_batch_size_and_inclusion_rate() {
        let mut rng = seq::default_rng(3);
        let (n, q) = (2000usize, 0.05);
        let mut buf = [0u32; 400];
        let mut hits = [0u32; 2000];
        let trials = 400;
        let mut total = 0usize;
        for _ in 0..trials {
            let b = poisson_sample(&mut rng, n, q, &mut buf).unwrap();
            assert!(buf[..b].windows(2).all(|w| w[0] < w[1]));
            for &i in &buf[..b] {
                hits[i as usize] += 1;
            }
            total += b;
        }
        // Mean batch size q n = 100 with sd sqrt(n q (1-q) / trials) ~ 0.49: 4 sd tolerance.
        let mean = total as f64 / trials as f64;
        assert!((mean - 100.0).abs() < 4.0 * (n as f64 * q * (1.0 - q) / trials as f64).sqrt());
        // First and last records are reachable (no off-by-one in the skips).
        assert!(hits[0] > 0 && hits[n - 1] > 0);
        // Per-position inclusion: chi-square over 20 blocks of 100 records, 1% critical value 36.2.
        let expect = trials as f64 * q * 100.0;
        let chi2: f64 = hits
            .chunks(100)
            .map(|c| {
                let o = c.iter().map(|&h| h as f64).sum::<f64>();
                (o - expect).powi(2) / expect
            })
            .sum();
        assert!(chi2 < 36.2, "chi2 {chi2}");
    }

    #[test]
    fn fixed_size_is_uniform_and_distinct() {
        let mut rng = seq::default_rng(4);
        let mut buf = [0u32; 10];
        let mut hits = [0u32; 50];
        for _ in 0..2000 {
            fixed_size_sample(&mut rng, 50, 10, &mut buf).unwrap();
            assert!(buf.windows(2).all(|w| w[0] < w[1]));
            for &i in &buf {
                hits[i as usize] += 1;
            }
        }
        // Each index expected 400 times (sd ~ 17.9): 5 sd.
        assert!(
            hits.iter().all(|&h| (h as f64 - 400.0).abs() < 90.0),
            "{hits:?}"
        );
    }

    #[test]
    fn errors_and_accounting_rates() {
        let mut rng = seq::default_rng(5);
        let mut buf = [0u32; 2];
        assert!(matches!(
            poisson_sample(&mut rng, 1000, 0.5, &mut buf),
            Err(Error::CapacityExceeded { .. })
        ));
        assert!(poisson_sample(&mut rng, 10, 0.0, &mut buf).is_err());
        assert!(poisson_sample(&mut rng, 10, 1.5, &mut buf).is_err());
        assert!(fixed_size_sample(&mut rng, 10, 11, &mut buf).is_err());
        assert_eq!(
            Sampling::FixedSize { batch: 100 }.rate(10_000).unwrap(),
            0.01
        );
        assert!(!Sampling::FixedSize { batch: 100 }.exact_accounting());
        assert!(Sampling::Poisson { q: 0.01 }.exact_accounting());
        assert_eq!(
            Sampling::Poisson { q: 0.01 }
                .expected_batch(10_000)
                .unwrap(),
            100.0
        );
    }
}
