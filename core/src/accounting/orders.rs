//! Default RDP order grids.
//!
//! - [`DP_ACCOUNTING_ORDERS`] (noisekit's default, 156 orders): Google dp-accounting
//!   `DEFAULT_RDP_ORDERS` = `[1 + x/10 for x in 1..=99] ++ [11, ..., 63] ++ [128, 256, 512, 1024]`.
//! - [`OPACUS_ORDERS`] (151 orders): Opacus `RDPAccountant.DEFAULT_ALPHAS` =
//!   `[1 + x/10 for x in 1..=99] ++ [12, ..., 63]`.
//!
//! `1 + x/10` is computed as `1.0 + (x as f64) / 10.0`, exactly as the Python list
//! comprehensions, so that e.g. `2.0` is recognised as an integer order.

/// Number of orders in [`DP_ACCOUNTING_ORDERS`].
pub const N_DP_ACCOUNTING: usize = 156;
/// Number of orders in [`OPACUS_ORDERS`].
pub const N_OPACUS: usize = 151;

const fn grid<const N: usize>(first_int: u32, big: bool) -> [f64; N] {
    let mut out = [0.0f64; N];
    let mut k = 0;
    let mut x = 1u32;
    while x <= 99 {
        out[k] = 1.0 + (x as f64) / 10.0;
        k += 1;
        x += 1;
    }
    let mut a = first_int;
    while a <= 63 {
        out[k] = a as f64;
        k += 1;
        a += 1;
    }
    if big {
        out[k] = 128.0;
        out[k + 1] = 256.0;
        out[k + 2] = 512.0;
        out[k + 3] = 1024.0;
    }
    out
}

/// dp-accounting's `DEFAULT_RDP_ORDERS` (noisekit's default grid).
pub const DP_ACCOUNTING_ORDERS: [f64; N_DP_ACCOUNTING] = grid::<N_DP_ACCOUNTING>(11, true);

/// Opacus' `RDPAccountant.DEFAULT_ALPHAS`.
pub const OPACUS_ORDERS: [f64; N_OPACUS] = grid::<N_OPACUS>(12, false);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_have_the_documented_shape() {
        assert_eq!(DP_ACCOUNTING_ORDERS[0], 1.1);
        assert_eq!(DP_ACCOUNTING_ORDERS[9], 2.0);
        assert_eq!(DP_ACCOUNTING_ORDERS[98], 10.9);
        assert_eq!(DP_ACCOUNTING_ORDERS[99], 11.0);
        assert_eq!(DP_ACCOUNTING_ORDERS[151], 63.0);
        assert_eq!(DP_ACCOUNTING_ORDERS[155], 1024.0);
        assert_eq!(OPACUS_ORDERS[99], 12.0);
        assert_eq!(OPACUS_ORDERS[150], 63.0);
        assert!(DP_ACCOUNTING_ORDERS.windows(2).all(|w| w[0] < w[1]));
        assert!(OPACUS_ORDERS.windows(2).all(|w| w[0] < w[1]));
        // Python: 1 + 30/10 == 4.0 exactly.
        assert_eq!(OPACUS_ORDERS[29], 4.0);
    }
}
