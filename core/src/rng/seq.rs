//! Sequential samplers, generic over any `rand_core::Rng` (default generator:
//! [`rand_xoshiro::Xoshiro256PlusPlus`]).
//!
//! The heavy lifting is done by `rand_distr` (Ziggurat normal, Marsaglia-Tsang gamma, PTRS Poisson,
//! Student-t); this module adds parameter checking with typed errors and a no-alloc categorical.

use crate::error::{check, Error, Result};
use rand::RngExt;
use rand_core::Rng;
use rand_distr::Distribution;

pub use rand_xoshiro::Xoshiro256PlusPlus as DefaultRng;

/// The default generator seeded from a `u64` (SplitMix64 expansion, as `rand_xoshiro` does).
pub fn default_rng(seed: u64) -> DefaultRng {
    use rand_core::SeedableRng;
    DefaultRng::seed_from_u64(seed)
}

/// Standard normal `N(0, 1)` by the Ziggurat method.
#[inline]
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rand_distr::StandardNormal.sample(rng)
}

/// Standard normal as `f32`.
#[inline]
pub fn normal_f32<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    rand_distr::StandardNormal.sample(rng)
}

/// `N(mean, std^2)`.
pub fn gaussian<R: Rng + ?Sized>(rng: &mut R, mean: f64, std: f64) -> Result<f64> {
    check::non_negative("std", std)?;
    check::finite("mean", mean)?;
    Ok(mean + std * normal(rng))
}

/// Uniform in `[0, 1)` with 53 random bits.
#[inline]
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// Uniform in `[lo, hi)`.
pub fn uniform_range<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> Result<f64> {
    check::finite("lo", lo)?;
    check::finite("hi", hi)?;
    if hi <= lo {
        return Err(Error::invalid("hi", hi, "greater than lo"));
    }
    Ok(lo + (hi - lo) * uniform(rng))
}

/// Uniform integer in `0..n` (unbiased).
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Result<usize> {
    check::nonzero("n", n)?;
    Ok(rng.random_range(0..n))
}

/// Bernoulli(p): `true` with probability `p`.
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f64) -> Result<bool> {
    check::closed("p", p, 0.0, 1.0, "in [0, 1]")?;
    Ok(uniform(rng) < p)
}

/// Categorical draw with unnormalised non-negative `weights` (inverse CDF, no allocation).
pub fn categorical<R: Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> Result<usize> {
    let mut total = 0.0;
    for &w in weights {
        check::non_negative("weights", w)?;
        total += w;
    }
    if weights.is_empty() || total <= 0.0 {
        return Err(Error::invalid(
            "weights",
            total,
            "a non-empty slice with positive sum",
        ));
    }
    let target = uniform(rng) * total;
    let mut acc = 0.0;
    for (i, &w) in weights.iter().enumerate() {
        acc += w;
        if target < acc {
            return Ok(i);
        }
    }
    // Rounding can leave `target` at the very end: return the last index with positive weight.
    Ok(weights.iter().rposition(|&w| w > 0.0).unwrap_or(0))
}

/// Gamma(shape, scale) (Marsaglia-Tsang).
pub fn gamma<R: Rng + ?Sized>(rng: &mut R, shape: f64, scale: f64) -> Result<f64> {
    check::positive("shape", shape)?;
    check::positive("scale", scale)?;
    let d =
        rand_distr::Gamma::new(shape, scale).map_err(|_| Error::invalid("shape", shape, "> 0"))?;
    Ok(d.sample(rng))
}

/// Poisson(lambda) as a count (PTRS for large lambda, inversion for small).
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> Result<u64> {
    if lambda == 0.0 {
        return Ok(0);
    }
    check::positive("lambda", lambda)?;
    if lambda > 1e15 {
        return Err(Error::invalid("lambda", lambda, "in [0, 1e15]"));
    }
    let d = rand_distr::Poisson::new(lambda)
        .map_err(|_| Error::invalid("lambda", lambda, "in [0, 1e15]"))?;
    let x: f64 = d.sample(rng);
    Ok(x as u64)
}

/// Student-t with `nu` degrees of freedom.
pub fn student_t<R: Rng + ?Sized>(rng: &mut R, nu: f64) -> Result<f64> {
    check::positive("nu", nu)?;
    let d = rand_distr::StudentT::new(nu).map_err(|_| Error::invalid("nu", nu, "> 0"))?;
    Ok(d.sample(rng))
}

/// Fills `out` with i.i.d. `N(0, std^2)` (`f32`).
pub fn fill_gaussian_f32<R: Rng + ?Sized>(rng: &mut R, std: f32, out: &mut [f32]) -> Result<()> {
    check::non_negative("std", std as f64)?;
    for o in out {
        *o = std * normal_f32(rng);
    }
    Ok(())
}

/// Fills `out` with i.i.d. `N(0, std^2)` (`f64`).
pub fn fill_gaussian_f64<R: Rng + ?Sized>(rng: &mut R, std: f64, out: &mut [f64]) -> Result<()> {
    check::non_negative("std", std)?;
    for o in out {
        *o = std * normal(rng);
    }
    Ok(())
}

/// Fisher-Yates shuffle in place.
pub fn shuffle<R: Rng + ?Sized, T>(rng: &mut R, xs: &mut [T]) {
    for i in (1..xs.len()).rev() {
        let j = rng.random_range(0..=i);
        xs.swap(i, j);
    }
}
