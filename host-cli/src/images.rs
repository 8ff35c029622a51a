//! Grey test images shipped in `fixtures/data/images/` (exported from the scikit-image wheel; see
//! `fixtures/data/README.md`), read from binary PGM (P5) into `[0, 1]` floats, plus a tiny PGM
//! writer for repro outputs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// A grey image, row-major, values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyImage {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `height * width` pixels in `[0, 1]`.
    pub pixels: Vec<f64>,
}

/// The shipped images folder (`NOISEKIT_FIXTURES` overrides the fixtures root).
pub fn images_dir() -> PathBuf {
    crate::golden::fixtures_dir().join("data/images")
}

/// Names of the shipped images (file stems).
pub const SHIPPED: [&str; 2] = ["camera128", "coins100x128"];

/// Loads a shipped image by stem (e.g. `"camera128"`).
pub fn shipped(name: &str) -> Result<GreyImage> {
    read_pgm(&images_dir().join(format!("{name}.pgm")))
}

/// Reads a binary PGM (P5) file with maxval <= 255.
pub fn read_pgm(path: &Path) -> Result<GreyImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_pgm(&bytes).with_context(|| format!("parsing {}", path.display()))
}

/// Parses binary PGM bytes.
pub fn parse_pgm(bytes: &[u8]) -> Result<GreyImage> {
    let mut pos = 0usize;
    let mut fields = Vec::new();
    while fields.len() < 4 {
        // Skip whitespace and comments.
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if start == pos {
            bail!("truncated PGM header");
        }
        fields.push(std::str::from_utf8(&bytes[start..pos])?.to_string());
    }
    if fields[0] != "P5" {
        bail!("not a binary PGM (magic {:?}, expected P5)", fields[0]);
    }
    let width: usize = fields[1].parse().context("PGM width")?;
    let height: usize = fields[2].parse().context("PGM height")?;
    let maxval: usize = fields[3].parse().context("PGM maxval")?;
    if width == 0 || height == 0 || maxval == 0 || maxval > 255 {
        bail!("unsupported PGM: {width} x {height}, maxval {maxval} (need positive sizes, maxval 1..=255)");
    }
    pos += 1; // the single whitespace after maxval
    let n = width.checked_mul(height).context("PGM size overflows")?;
    let data = bytes
        .get(pos..pos + n)
        .context("PGM pixel data shorter than width * height")?;
    Ok(GreyImage {
        height,
        width,
        pixels: data.iter().map(|&b| b as f64 / maxval as f64).collect(),
    })
}

/// Writes `[0, 1]` pixels (clipped) as binary PGM.
pub fn write_pgm(path: &Path, img: &GreyImage) -> Result<()> {
    if img.pixels.len() != img.width * img.height {
        bail!(
            "image has {} pixels, expected {} x {}",
            img.pixels.len(),
            img.height,
            img.width
        );
    }
    let mut out = format!("P5\n{} {}\n255\n", img.width, img.height).into_bytes();
    out.extend(
        img.pixels
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
    );
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_images_load() {
        let cam = shipped("camera128").unwrap();
        assert_eq!((cam.height, cam.width), (128, 128));
        let coins = shipped("coins100x128").unwrap();
        assert_eq!((coins.height, coins.width), (100, 128));
        for img in [&cam, &coins] {
            assert!(img.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
            let mean = img.pixels.iter().sum::<f64>() / img.pixels.len() as f64;
            assert!(mean > 0.1 && mean < 0.9);
        }
    }

    #[test]
    fn parse_roundtrip_and_errors() {
        let img = GreyImage {
            height: 2,
            width: 3,
            pixels: vec![0.0, 1.0, 0.5, 0.2, 0.4, 0.6],
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pgm");
        write_pgm(&p, &img).unwrap();
        let back = read_pgm(&p).unwrap();
        assert_eq!((back.height, back.width), (2, 3));
        assert!(back
            .pixels
            .iter()
            .zip(&img.pixels)
            .all(|(a, b)| (a - b).abs() <= 0.5 / 255.0 + 1e-12));
        assert!(parse_pgm(b"P5\n# c\n2 2\n255\n\x00\x01\x02\x03").is_ok());
        assert!(parse_pgm(b"P2\n2 2\n255\n0 1 2 3").is_err());
        assert!(parse_pgm(b"P5\n2 2\n255\n\x00").is_err());
        assert!(parse_pgm(b"P5\n2 2\n65535\n\x00\x00").is_err());
    }
}
