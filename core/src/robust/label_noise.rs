//! Label-noise samplers: symmetric (code style and exclusive), class-pair flips (CIFAR-10 map and any
//! pair map), cyclic blocks (CIFAR-100 style) and a generic row-stochastic transition matrix, each
//! reporting the realised noise rate.
//!
//! Paper: S. Liu, J. Niles-Weed, N. Razavian, C. Fernandez-Granda, "Early-Learning Regularization
//! Prevents Memorization of Noisy Labels", 2020, arXiv 2007.00151 (samplers from the official code,
//! `ELR/data_loader/cifar10.py`, `cifar100.py`; spec 05 section 3).
//!
//! Definitions (n labels, C classes, rate `eta` in [0, 1)):
//! ```text
//! symmetric (code):      a uniformly random subset of k = #{i < n : i < eta n} = ceil(eta n) examples
//!                        (the first k of a random permutation) gets a label uniform over ALL C classes;
//!                        E[T] = (1 - eta) I + (eta / C) 1 1^T, wrong fraction eta (C - 1) / C
//! symmetric (exclusive): same subset, new label uniform over the C - 1 other classes
//! pair flip (map):       per class c with map[c] != c: ceil(eta n_c) of its members, chosen uniformly,
//!                        get label map[c]  (CIFAR-10 map: 9->1, 2->0, 3->5, 5->3, 4->7)
//! cyclic blocks:         per example independently: with probability eta, class i -> the next class
//!                        of its block of `block` consecutive classes (last -> first), else unchanged
//! transition T:          per example, new label ~ row T[y_i] (T row-stochastic)
//! ```
//! The random subset is drawn by selection sampling (Knuth's Algorithm S): the same law as the first
//! k entries of a random permutation, in one pass and without a buffer. Everything here works on
//! caller-provided slices (no allocator). Cost O(n) per sampler (O(n C) for the pair flip, one pass
//! per flipped class).
//!
//! Spec note (pair flip): code that selects with `np.where(labels == c)` on the labels it is
//! mutating re-selects, for class 5, examples already flipped 3 -> 5 (and may flip them back), so its
//! realised wrong fraction is below eta/2. [`PairSelect::Clean`] (default; wrong fraction exactly
//! `sum_c ceil(eta n_c) / n` for the mapped classes) selects among the CLEAN members of each class;
//! [`PairSelect::Sequential`] reproduces the mutate-while-selecting behaviour.

use crate::error::{check, Error, Result};
use crate::rng::seq;
use rand_core::Rng;

/// How the replacement label of a symmetric flip is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymStyle {
    /// Uniform over all `C` classes, the true one included (the ELR code; default).
    #[default]
    Code,
    /// Uniform over the `C - 1` other classes.
    Exclusive,
}

/// How a pair flip selects the members of each class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairSelect {
    /// Among the examples whose CLEAN label is the class (default).
    #[default]
    Clean,
    /// Among the examples whose CURRENT (already partly flipped) label is the class, classes
    /// processed in order `0..C` (as code mutating its label array while selecting does).
    Sequential,
}

/// What a sampler did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseReport {
    /// Examples selected for corruption (flagged in the `corrupted` slice).
    pub corrupted: usize,
    /// Examples whose noisy label differs from the clean one.
    pub changed: usize,
    /// Realised noise rate `changed / n` (0 for n = 0).
    pub realised_rate: f64,
}

fn check_common(
    clean: &[u32],
    classes: usize,
    eta: f64,
    noisy: &[u32],
    corrupted: &[bool],
) -> Result<()> {
    if classes < 2 {
        return Err(Error::invalid("classes", classes as f64, "an integer >= 2"));
    }
    check::half_open("eta", eta, 0.0, 1.0, "in [0, 1)")?;
    check::same_len("noisy labels", clean.len(), noisy.len())?;
    check::same_len("corrupted flags", clean.len(), corrupted.len())?;
    if let Some(&bad) = clean.iter().find(|&&y| y as usize >= classes) {
        return Err(Error::invalid(
            "label",
            bad as f64,
            "a class index below classes",
        ));
    }
    Ok(())
}

/// `ceil(eta * n)` exactly as the code's `i < eta * n` test counts it.
fn code_count(eta: f64, n: usize) -> usize {
    let x = eta * n as f64;
    (libm::ceil(x) as usize).min(n)
}

/// Realised noise rate: fraction of positions where `noisy != clean` (0 when empty).
pub fn realised_rate(clean: &[u32], noisy: &[u32]) -> Result<f64> {
    check::same_len("noisy labels", clean.len(), noisy.len())?;
    if clean.is_empty() {
        return Ok(0.0);
    }
    let changed = clean.iter().zip(noisy).filter(|(a, b)| a != b).count();
    Ok(changed as f64 / clean.len() as f64)
}

fn report(clean: &[u32], noisy: &[u32], corrupted: &[bool]) -> NoiseReport {
    let changed = clean.iter().zip(noisy).filter(|(a, b)| a != b).count();
    let n = clean.len();
    NoiseReport {
        corrupted: corrupted.iter().filter(|&&c| c).count(),
        changed,
        realised_rate: if n == 0 {
            0.0
        } else {
            changed as f64 / n as f64
        },
    }
}

/// Symmetric noise: `ceil(eta n)` uniformly chosen examples get a random label (see module docs).
pub fn symmetric<R: Rng + ?Sized>(
    rng: &mut R,
    clean: &[u32],
    classes: usize,
    eta: f64,
    style: SymStyle,
    noisy: &mut [u32],
    corrupted: &mut [bool],
) -> Result<NoiseReport> {
    check_common(clean, classes, eta, noisy, corrupted)?;
    let n = clean.len();
    let k = code_count(eta, n);
    let mut chosen = 0;
    for i in 0..n {
        let need = k - chosen;
        let left = n - i;
        let pick = need > 0 && (seq::uniform(rng) * left as f64) < need as f64;
        corrupted[i] = pick;
        noisy[i] = clean[i];
        if pick {
            chosen += 1;
            noisy[i] = match style {
                SymStyle::Code => seq::below(rng, classes)? as u32,
                SymStyle::Exclusive => {
                    let j = seq::below(rng, classes - 1)? as u32;
                    if j >= clean[i] {
                        j + 1
                    } else {
                        j
                    }
                }
            };
        }
    }
    Ok(report(clean, noisy, corrupted))
}

/// The CIFAR-10 class-pair map (truck->automobile, bird->airplane, cat<->dog, deer->horse).
pub const CIFAR10_PAIRS: [u32; 10] = [0, 1, 0, 5, 7, 3, 6, 7, 8, 1];

/// Pair flip by `map` (`map[c]` = the class that `c` flips to; `map[c] == c` leaves `c` alone):
/// per class, `ceil(eta n_c)` uniformly chosen members flip (see module docs and [`PairSelect`]).
#[allow(clippy::too_many_arguments)]
pub fn pair_flip<R: Rng + ?Sized>(
    rng: &mut R,
    clean: &[u32],
    classes: usize,
    map: &[u32],
    eta: f64,
    select: PairSelect,
    noisy: &mut [u32],
    corrupted: &mut [bool],
) -> Result<NoiseReport> {
    check_common(clean, classes, eta, noisy, corrupted)?;
    check::same_len("pair map", classes, map.len())?;
    if let Some(&bad) = map.iter().find(|&&t| t as usize >= classes) {
        return Err(Error::invalid(
            "pair map",
            bad as f64,
            "class indices below classes",
        ));
    }
    noisy.copy_from_slice(clean);
    corrupted.fill(false);
    for c in 0..classes as u32 {
        let target = map[c as usize];
        if target == c {
            continue;
        }
        let member = |i: usize, noisy: &[u32]| match select {
            PairSelect::Clean => clean[i] == c,
            PairSelect::Sequential => noisy[i] == c,
        };
        let nc = (0..clean.len()).filter(|&i| member(i, noisy)).count();
        let k = code_count(eta, nc);
        let (mut chosen, mut seen) = (0, 0);
        for i in 0..clean.len() {
            if !member(i, noisy) {
                continue;
            }
            let need = k - chosen;
            let left = nc - seen;
            seen += 1;
            if need > 0 && (seq::uniform(rng) * left as f64) < need as f64 {
                chosen += 1;
                noisy[i] = target;
                corrupted[i] = true;
            }
        }
    }
    // A Sequential flip-back can leave a flagged example with its clean label.
    for i in 0..clean.len() {
        corrupted[i] &= noisy[i] != clean[i];
    }
    Ok(report(clean, noisy, corrupted))
}

/// CIFAR-10 asymmetric noise ([`pair_flip`] with [`CIFAR10_PAIRS`], clean selection).
pub fn asym_cifar10<R: Rng + ?Sized>(
    rng: &mut R,
    clean: &[u32],
    eta: f64,
    noisy: &mut [u32],
    corrupted: &mut [bool],
) -> Result<NoiseReport> {
    pair_flip(
        rng,
        clean,
        10,
        &CIFAR10_PAIRS,
        eta,
        PairSelect::Clean,
        noisy,
        corrupted,
    )
}

/// CIFAR-100 style cyclic blocks: per example, with probability `eta`, class `i` moves to the next
/// class of its block of `block` consecutive classes (the last class of a block wraps to its first).
/// `classes` must be a multiple of `block` (>= 2).
pub fn cyclic_blocks<R: Rng + ?Sized>(
    rng: &mut R,
    clean: &[u32],
    classes: usize,
    block: usize,
    eta: f64,
    noisy: &mut [u32],
    corrupted: &mut [bool],
) -> Result<NoiseReport> {
    check_common(clean, classes, eta, noisy, corrupted)?;
    if block < 2 || !classes.is_multiple_of(block) {
        return Err(Error::invalid(
            "block",
            block as f64,
            "an integer >= 2 dividing classes",
        ));
    }
    for i in 0..clean.len() {
        let y = clean[i] as usize;
        let flip = seq::uniform(rng) < eta;
        let start = y - y % block;
        noisy[i] = if flip {
            (start + (y - start + 1) % block) as u32
        } else {
            y as u32
        };
        corrupted[i] = flip;
    }
    Ok(report(clean, noisy, corrupted))
}

/// Validates a row-major `C x C` transition matrix: entries >= 0, every row sums to 1 within 1e-9.
pub fn check_transition(t: &[f64], classes: usize) -> Result<()> {
    if classes < 2 {
        return Err(Error::invalid("classes", classes as f64, "an integer >= 2"));
    }
    check::same_len("transition matrix (C * C)", classes * classes, t.len())?;
    for row in t.chunks_exact(classes) {
        let mut s = 0.0;
        for &v in row {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(
                    "transition entry",
                    v,
                    "a finite number >= 0",
                ));
            }
            s += v;
        }
        if libm::fabs(s - 1.0) >= 1e-9 {
            return Err(Error::invalid("transition row sum", s, "1 within 1e-9"));
        }
    }
    Ok(())
}

/// Generic noise: per example the new label is drawn from row `T[y_i]` (row-major `C x C`).
pub fn noisify<R: Rng + ?Sized>(
    rng: &mut R,
    clean: &[u32],
    classes: usize,
    t: &[f64],
    noisy: &mut [u32],
    corrupted: &mut [bool],
) -> Result<NoiseReport> {
    check_common(clean, classes, 0.0, noisy, corrupted)?;
    check_transition(t, classes)?;
    for i in 0..clean.len() {
        let y = clean[i] as usize;
        let row = &t[y * classes..(y + 1) * classes];
        noisy[i] = seq::categorical(rng, row)? as u32;
        corrupted[i] = noisy[i] != clean[i];
    }
    Ok(report(clean, noisy, corrupted))
}

/// The expected transition matrix of [`symmetric`] noise into `out` (`C x C`):
/// code style `(1 - eta) I + (eta / C) 1 1^T`; exclusive `(1 - eta) I + eta / (C - 1) (1 1^T - I)`.
pub fn symmetric_transition(
    classes: usize,
    eta: f64,
    style: SymStyle,
    out: &mut [f64],
) -> Result<()> {
    if classes < 2 {
        return Err(Error::invalid("classes", classes as f64, "an integer >= 2"));
    }
    check::half_open("eta", eta, 0.0, 1.0, "in [0, 1)")?;
    check::same_len("transition matrix (C * C)", classes * classes, out.len())?;
    let c = classes as f64;
    let (diag, off) = match style {
        SymStyle::Code => (1.0 - eta + eta / c, eta / c),
        SymStyle::Exclusive => (1.0 - eta, eta / (c - 1.0)),
    };
    for i in 0..classes {
        for j in 0..classes {
            out[i * classes + j] = if i == j { diag } else { off };
        }
    }
    Ok(())
}

#[cfg(all(test, feature = "alloc"))]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use crate::rng::default_rng;
    use crate::rng::stats::gamma_p;
    use alloc::vec;
    use alloc::vec::Vec;

    fn balanced(n: usize, c: usize) -> Vec<u32> {
        (0..n).map(|i| (i % c) as u32).collect()
    }

    /// Chi-square upper-tail p-value with `k` degrees of freedom.
    fn chi2_p(stat: f64, k: usize) -> f64 {
        1.0 - gamma_p(k as f64 / 2.0, stat / 2.0)
    }

    #[test]
    fn symmetric_code_style_statistics() {
        // Spec: n = 1e5, C = 10, eta = 0.4, 5 seeds: wrong fraction 0.36 +- 0.005; exactly ceil(eta n)
        // corrupted; wrong labels uniform over the 9 others (chi-square p > 0.001).
        let (n, c) = (100_000, 10);
        let clean = balanced(n, c);
        for seed in 0..5 {
            let (mut noisy, mut cor) = (vec![0; n], vec![false; n]);
            let r = symmetric(
                &mut default_rng(seed),
                &clean,
                c,
                0.4,
                SymStyle::Code,
                &mut noisy,
                &mut cor,
            )
            .unwrap();
            assert_eq!(r.corrupted, 40_000);
            assert!(
                (r.realised_rate - 0.36).abs() < 0.005,
                "{}",
                r.realised_rate
            );
            assert_eq!(r.realised_rate, realised_rate(&clean, &noisy).unwrap());
            // Uncorrupted examples keep their label.
            assert!((0..n).all(|i| cor[i] || noisy[i] == clean[i]));
            // Offsets (noisy - clean) mod C among the changed ones: uniform over 1..C.
            let mut counts = [0f64; 10];
            for i in 0..n {
                if noisy[i] != clean[i] {
                    counts[((noisy[i] + 10 - clean[i]) % 10) as usize] += 1.0;
                }
            }
            let tot: f64 = counts.iter().sum();
            let e = tot / 9.0;
            let stat: f64 = counts[1..].iter().map(|o| (o - e) * (o - e) / e).sum();
            assert!(chi2_p(stat, 8) > 1e-3, "seed {seed}: chi2 {stat}");
        }
    }

    #[test]
    fn symmetric_subset_is_uniform() {
        // Each position is corrupted with probability k/n: counts over 2000 draws of n = 20, k = 8.
        let clean = balanced(20, 4);
        let mut hits = [0f64; 20];
        let mut rng = default_rng(9);
        let (mut noisy, mut cor) = (vec![0; 20], vec![false; 20]);
        for _ in 0..2000 {
            let r = symmetric(
                &mut rng,
                &clean,
                4,
                0.4,
                SymStyle::Code,
                &mut noisy,
                &mut cor,
            )
            .unwrap();
            assert_eq!(r.corrupted, 8);
            hits.iter_mut()
                .zip(&cor)
                .for_each(|(h, &c)| *h += c as u8 as f64);
        }
        let e = 2000.0 * 0.4;
        let stat: f64 = hits.iter().map(|o| (o - e) * (o - e) / e).sum();
        // Positions are negatively correlated (fixed total), so this is conservative.
        assert!(chi2_p(stat, 19) > 1e-3, "{stat}");
    }

    #[test]
    fn exclusive_always_changes() {
        let (n, c) = (10_000, 10);
        let clean = balanced(n, c);
        let (mut noisy, mut cor) = (vec![0; n], vec![false; n]);
        let r = symmetric(
            &mut default_rng(1),
            &clean,
            c,
            0.4,
            SymStyle::Exclusive,
            &mut noisy,
            &mut cor,
        )
        .unwrap();
        assert_eq!(r.changed, 4000);
        assert_eq!(r.corrupted, 4000);
    }

    #[test]
    fn code_count_matches_python_loop() {
        for (eta, n, want) in [
            (0.4, 100_000, 40_000),
            (0.4, 1200, 480),
            (0.35, 7, 3),
            (0.3, 10, 3),
            (0.0, 5, 0),
        ] {
            // Python: sum(1 for i in range(n) if i < eta * n)
            let py = (0..n).filter(|&i| (i as f64) < eta * n as f64).count();
            assert_eq!(code_count(eta, n), py);
            assert_eq!(py, want);
        }
    }

    #[test]
    fn cifar10_pairs_exact_rate() {
        let (n, c) = (50_000, 10);
        let clean = balanced(n, c);
        let (mut noisy, mut cor) = (vec![0; n], vec![false; n]);
        let r = asym_cifar10(&mut default_rng(3), &clean, 0.4, &mut noisy, &mut cor).unwrap();
        assert_eq!(r.changed, 5 * 2000);
        assert!((r.realised_rate - 0.2).abs() < 1e-12);
        for i in 0..n {
            if [0, 1, 6, 7, 8].contains(&clean[i]) {
                assert_eq!(noisy[i], clean[i]);
            } else if noisy[i] != clean[i] {
                assert_eq!(noisy[i], CIFAR10_PAIRS[clean[i] as usize]);
            }
        }
        // Sequential selection re-selects flipped cats among the dogs: fewer wrong labels.
        let r2 = pair_flip(
            &mut default_rng(3),
            &clean,
            10,
            &CIFAR10_PAIRS,
            0.4,
            PairSelect::Sequential,
            &mut noisy,
            &mut cor,
        )
        .unwrap();
        assert!(r2.changed < 10_000 && r2.changed > 8_000, "{}", r2.changed);
    }

    #[test]
    fn cyclic_blocks_rate_and_targets() {
        let (n, c) = (100_000, 10);
        let clean = balanced(n, c);
        let (mut noisy, mut cor) = (vec![0; n], vec![false; n]);
        let r =
            cyclic_blocks(&mut default_rng(5), &clean, c, 5, 0.4, &mut noisy, &mut cor).unwrap();
        // Binomial(1e5, 0.4): sd 155; 5 sd.
        assert!((r.changed as f64 - 40_000.0).abs() < 5.0 * 155.0);
        for i in 0..n {
            if noisy[i] != clean[i] {
                let want = match clean[i] {
                    4 => 0,
                    9 => 5,
                    y => y + 1,
                };
                assert_eq!(noisy[i], want);
            }
        }
    }

    #[test]
    fn noisify_matches_transition() {
        let (n, c) = (100_000, 10);
        let clean = balanced(n, c);
        let mut t = vec![0.0; c * c];
        symmetric_transition(c, 0.4, SymStyle::Code, &mut t).unwrap();
        assert!((t[0] - 0.64).abs() < 1e-15 && (t[1] - 0.04).abs() < 1e-15);
        let (mut noisy, mut cor) = (vec![0; n], vec![false; n]);
        let r = noisify(&mut default_rng(8), &clean, c, &t, &mut noisy, &mut cor).unwrap();
        // Binomial(1e5, 0.36): sd 152; 5 sd.
        assert!(
            (r.changed as f64 - 36_000.0).abs() < 5.0 * 152.0,
            "{}",
            r.changed
        );
    }

    #[test]
    fn bad_input_is_typed() {
        let clean = [0u32, 1, 2];
        let (mut noisy, mut cor) = ([0u32; 3], [false; 3]);
        let mut rng = default_rng(0);
        for eta in [1.0, -0.1, f64::NAN] {
            assert!(matches!(
                symmetric(
                    &mut rng,
                    &clean,
                    3,
                    eta,
                    SymStyle::Code,
                    &mut noisy,
                    &mut cor
                ),
                Err(Error::InvalidParam { name: "eta", .. })
            ));
        }
        assert!(matches!(
            symmetric(
                &mut rng,
                &[0, 0],
                1,
                0.2,
                SymStyle::Code,
                &mut noisy[..2],
                &mut cor[..2]
            ),
            Err(Error::InvalidParam {
                name: "classes",
                ..
            })
        ));
        assert!(matches!(
            symmetric(
                &mut rng,
                &[0, 5],
                3,
                0.2,
                SymStyle::Code,
                &mut noisy[..2],
                &mut cor[..2]
            ),
            Err(Error::InvalidParam { name: "label", .. })
        ));
        assert!(matches!(
            symmetric(
                &mut rng,
                &clean,
                3,
                0.2,
                SymStyle::Code,
                &mut noisy[..2],
                &mut cor
            ),
            Err(Error::ShapeMismatch { .. })
        ));
        let bad_t = [0.5, 0.6, 0.0, 1.0];
        assert!(matches!(
            noisify(&mut rng, &[0, 1], 2, &bad_t, &mut noisy[..2], &mut cor[..2]),
            Err(Error::InvalidParam {
                name: "transition row sum",
                ..
            })
        ));
        let neg_t = [1.5, -0.5, 0.0, 1.0];
        assert!(matches!(
            check_transition(&neg_t, 2),
            Err(Error::InvalidParam {
                name: "transition entry",
                ..
            })
        ));
        assert!(matches!(
            cyclic_blocks(&mut rng, &clean, 3, 2, 0.2, &mut noisy, &mut cor),
            Err(Error::InvalidParam { name: "block", .. })
        ));
        assert!(matches!(
            pair_flip(
                &mut rng,
                &clean,
                3,
                &[0, 1],
                0.2,
                PairSelect::Clean,
                &mut noisy,
                &mut cor
            ),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
