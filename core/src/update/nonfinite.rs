//! What an optimizer does when a gradient holds NaN or Inf: fail with a typed error, or skip the
//! whole step (parameters and state untouched, the step counter not advanced) and count it, as
//! mixed-precision loss scalers do. Cost: one read pass over the gradients.

use crate::error::{Error, Result};

/// The non-finite-gradient policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinitePolicy {
    /// Return [`Error::NonFinite`] naming the first bad element (global index over all tensors).
    #[default]
    Error,
    /// Skip the step and count it.
    Skip,
}

/// The global index of the first non-finite element over `grads` (tensors in order), if any.
pub fn first_non_finite(grads: &[&[f32]]) -> Option<usize> {
    let mut base = 0usize;
    for g in grads {
        if let Some(i) = g.iter().position(|x| !x.is_finite()) {
            return Some(base + i);
        }
        base += g.len();
    }
    None
}

/// Applies the policy: `Ok(true)` = go ahead, `Ok(false)` = skip this step, or the error.
pub fn admit(policy: NonFinitePolicy, grads: &[&[f32]]) -> Result<bool> {
    match (first_non_finite(grads), policy) {
        (None, _) => Ok(true),
        (Some(index), NonFinitePolicy::Error) => Err(Error::NonFinite {
            what: "gradient",
            index,
        }),
        (Some(_), NonFinitePolicy::Skip) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_global_index() {
        let a = [1.0f32, 2.0];
        let b = [0.0f32, f32::INFINITY];
        assert_eq!(first_non_finite(&[&a, &b]), Some(3));
        assert_eq!(
            admit(NonFinitePolicy::Error, &[&a, &b]),
            Err(Error::NonFinite {
                what: "gradient",
                index: 3
            })
        );
        assert_eq!(admit(NonFinitePolicy::Skip, &[&a, &b]), Ok(false));
        assert_eq!(admit(NonFinitePolicy::Error, &[&a]), Ok(true));
    }
}
