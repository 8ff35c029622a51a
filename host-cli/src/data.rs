//! Loaders for the small real data sets shipped in `fixtures/data/`.

use anyhow::{Context, Result};

use crate::golden::fixtures_dir;

/// A labelled data set with dense `f32` features (row-major).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// `n x d` features.
    pub x: Vec<f32>,
    /// `n` labels in `0..classes`.
    pub y: Vec<usize>,
    /// Rows.
    pub n: usize,
    /// Feature dimension.
    pub d: usize,
    /// Number of classes.
    pub classes: usize,
}

/// scikit-learn's 8x8 digits (1797 x 64, pixels 0..16 scaled to [0, 1], 10 classes), from
/// `fixtures/data/digits.csv` (see `fixtures/data/README.md` for origin and licence).
pub fn digits() -> Result<Dataset> {
    let path = fixtures_dir().join("data/digits.csv");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let vals: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(
            vals.len() == 65,
            "digits.csv line {}: expected 65 columns",
            i + 1
        );
        for v in &vals[..64] {
            let p: f32 = v
                .trim()
                .parse()
                .with_context(|| format!("digits.csv line {}", i + 1))?;
            x.push(p / 16.0);
        }
        y.push(
            vals[64]
                .trim()
                .parse()
                .with_context(|| format!("digits.csv line {}", i + 1))?,
        );
    }
    let n = y.len();
    Ok(Dataset {
        x,
        y,
        n,
        d: 64,
        classes: 10,
    })
}
