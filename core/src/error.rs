//! The one error type of the core.
//!
//! Every fallible public function returns [`Result`]. Variants name the parameter (or operation) at
//! fault and what is allowed, so a host program can print one clear line. The type is `no_std`,
//! implements [`core::fmt::Display`] and [`core::error::Error`] (stable in `core` since Rust 1.81).

use core::fmt;

/// Result alias used across the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A hyper-parameter or argument is outside its allowed range.
    InvalidParam {
        /// Name of the parameter, as the user knows it (e.g. `"delta"`).
        name: &'static str,
        /// The value that was given (integers are converted to `f64`).
        value: f64,
        /// What is allowed, in words or interval notation (e.g. `"in (0, 1)"`).
        expected: &'static str,
    },
    /// Two operands do not have compatible shapes.
    ShapeMismatch {
        /// Operation or argument that found the mismatch.
        op: &'static str,
        /// Expected `(rows, cols)` (a vector is `(len, 1)`).
        expected: (usize, usize),
        /// What was given.
        got: (usize, usize),
    },
    /// A NaN or infinity where a finite number is required.
    NonFinite {
        /// What held the value (e.g. `"gradient"`).
        what: &'static str,
        /// Index of the first non-finite element.
        index: usize,
    },
    /// A fixed-capacity container (no-alloc path) is too small.
    CapacityExceeded {
        /// What overflowed.
        what: &'static str,
        /// Its capacity.
        capacity: usize,
        /// What was needed.
        needed: usize,
    },
    /// A backend cannot be used on this machine (no device, missing library, not compiled in).
    BackendUnavailable {
        /// Backend name (e.g. `"cuda"`).
        backend: &'static str,
        /// Why, in a few words.
        reason: &'static str,
    },
    /// A backend operation failed at run time (kernel launch, out of device memory, ...).
    Backend {
        /// Backend name.
        backend: &'static str,
        /// What failed.
        op: &'static str,
    },
    /// A numerical procedure did not converge or met a singular system.
    Numerical(&'static str),
    /// A privacy budget would be exceeded by the requested step.
    BudgetExceeded {
        /// Epsilon spent if the step were taken.
        epsilon: f64,
        /// The configured budget.
        budget: f64,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidParam`].
    pub const fn invalid(name: &'static str, value: f64, expected: &'static str) -> Self {
        Error::InvalidParam {
            name,
            value,
            expected,
        }
    }

    /// Shorthand for a vector-length [`Error::ShapeMismatch`].
    pub const fn len_mismatch(op: &'static str, expected: usize, got: usize) -> Self {
        Error::ShapeMismatch {
            op,
            expected: (expected, 1),
            got: (got, 1),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidParam {
                name,
                value,
                expected,
            } => write!(f, "invalid {name} = {value}: expected {expected}"),
            Error::ShapeMismatch { op, expected, got } => write!(
                f,
                "shape mismatch in {op}: expected {}x{}, got {}x{}",
                expected.0, expected.1, got.0, got.1
            ),
            Error::NonFinite { what, index } => {
                write!(f, "non-finite value in {what} at index {index}")
            }
            Error::CapacityExceeded {
                what,
                capacity,
                needed,
            } => write!(f, "{what} needs {needed} slots but holds {capacity}"),
            Error::BackendUnavailable { backend, reason } => {
                write!(f, "backend {backend} unavailable: {reason}")
            }
            Error::Backend { backend, op } => write!(f, "backend {backend} failed in {op}"),
            Error::Numerical(what) => write!(f, "numerical failure: {what}"),
            Error::BudgetExceeded { epsilon, budget } => write!(
                f,
                "privacy budget exceeded: the step would spend epsilon {epsilon} > budget {budget}"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// Checks helpers shared by every module: each returns a typed error naming the parameter.
pub mod check {
    use super::{Error, Result};

    /// `x > 0` and finite.
    pub fn positive(name: &'static str, x: f64) -> Result<()> {
        if x.is_finite() && x > 0.0 {
            Ok(())
        } else {
            Err(Error::invalid(name, x, "a finite number > 0"))
        }
    }

    /// `x >= 0` and finite.
    pub fn non_negative(name: &'static str, x: f64) -> Result<()> {
        if x.is_finite() && x >= 0.0 {
            Ok(())
        } else {
            Err(Error::invalid(name, x, "a finite number >= 0"))
        }
    }

    /// `x` finite.
    pub fn finite(name: &'static str, x: f64) -> Result<()> {
        if x.is_finite() {
            Ok(())
        } else {
            Err(Error::invalid(name, x, "a finite number"))
        }
    }

    /// `lo < x < hi` (open interval); `expected` describes it for the message.
    pub fn open(
        name: &'static str,
        x: f64,
        lo: f64,
        hi: f64,
        expected: &'static str,
    ) -> Result<()> {
        if x > lo && x < hi {
            Ok(())
        } else {
            Err(Error::invalid(name, x, expected))
        }
    }

    /// `lo <= x < hi`.
    pub fn half_open(
        name: &'static str,
        x: f64,
        lo: f64,
        hi: f64,
        expected: &'static str,
    ) -> Result<()> {
        if x >= lo && x < hi {
            Ok(())
        } else {
            Err(Error::invalid(name, x, expected))
        }
    }

    /// `lo <= x <= hi`.
    pub fn closed(
        name: &'static str,
        x: f64,
        lo: f64,
        hi: f64,
        expected: &'static str,
    ) -> Result<()> {
        if x >= lo && x <= hi {
            Ok(())
        } else {
            Err(Error::invalid(name, x, expected))
        }
    }

    /// A count `n >= 1`.
    pub fn nonzero(name: &'static str, n: usize) -> Result<()> {
        if n >= 1 {
            Ok(())
        } else {
            Err(Error::invalid(name, 0.0, "an integer >= 1"))
        }
    }

    /// A buffer of `buf_len` elements holds a `rows x cols` matrix.
    pub fn matrix(op: &'static str, buf_len: usize, rows: usize, cols: usize) -> Result<()> {
        match rows.checked_mul(cols) {
            Some(n) if n == buf_len => Ok(()),
            _ => Err(Error::ShapeMismatch {
                op,
                expected: (rows, cols),
                got: (buf_len, 1),
            }),
        }
    }

    /// Every index is below `bound`; reports the first one that is not.
    pub fn indices(op: &'static str, idx: &[u32], bound: usize) -> Result<()> {
        match idx.iter().find(|&&i| i as usize >= bound) {
            None => Ok(()),
            Some(&i) => Err(Error::invalid(
                op,
                i as f64,
                "indices below the dimension size",
            )),
        }
    }

    /// Two lengths agree.
    pub fn same_len(op: &'static str, expected: usize, got: usize) -> Result<()> {
        if expected == got {
            Ok(())
        } else {
            Err(Error::len_mismatch(op, expected, got))
        }
    }

    /// Every element finite; reports the first offender.
    pub fn all_finite_f32(what: &'static str, xs: &[f32]) -> Result<()> {
        match xs.iter().position(|x| !x.is_finite()) {
            None => Ok(()),
            Some(index) => Err(Error::NonFinite { what, index }),
        }
    }

    /// Every element finite; reports the first offender.
    pub fn all_finite_f64(what: &'static str, xs: &[f64]) -> Result<()> {
        match xs.iter().position(|x| !x.is_finite()) {
            None => Ok(()),
            Some(index) => Err(Error::NonFinite { what, index }),
        }
    }
}
