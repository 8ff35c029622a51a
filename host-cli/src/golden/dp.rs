//! Golden cases of this area.

use super::GoldenCase;

/// This area's cases.
pub fn cases() -> Vec<GoldenCase> {
    Vec::new()
}
