//! `RdpLedger`: append-only composition of subsampled-Gaussian steps with varying `(q, z)`.
//!
//! RDP composes by addition (Mironov 2017, arXiv 1702.07476, Prop. 1), also when the sampling rate
//! and the noise multiplier change from step to step, provided each step's `(q_t, z_t)` is fixed
//! before its noise is drawn from public or already-private information:
//! `R(alpha_k) = sum_segments steps_s * sgm_rdp(q_s, z_s, alpha_k)`.
//! Consecutive steps with equal `(q, z)` form one segment (as Opacus' `RDPAccountant.step`), so the
//! cost is O(K x distinct segments) RDP evaluations, independent of the number of steps. Segments
//! are never rewritten; a changed sigma opens a new one. The last [`SEGMENT_LOG`] segments are
//! kept for reporting (fixed capacity, no allocation), the curve always covers all of them. The
//! open segment's per-step curve is cached, so composing one step at a time costs O(K) additions.
//!
//! Fixed-size storage: up to [`MAX_ORDERS`] orders (`heapless::Vec`), so the ledger works without
//! an allocator.

use heapless::{HistoryBuf, Vec};

use super::convert::{delta_from_rdp, epsilon_from_rdp, Conversion, Guarantee};
use super::orders::DP_ACCOUNTING_ORDERS;
use super::sgm::{check_q, check_z, sgm_rdp};
use crate::error::{Error, Result};

/// Largest order grid a ledger holds.
pub const MAX_ORDERS: usize = 160;
/// Number of most recent segments kept for reporting.
pub const SEGMENT_LOG: usize = 32;

/// `steps` consecutive SGM steps with sampling rate `q` and noise multiplier `z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Sampling rate.
    pub q: f64,
    /// Noise multiplier (noise std / clip norm).
    pub z: f64,
    /// Number of steps.
    pub steps: u64,
}

/// The per-order RDP values of `steps` steps of the SGM `(q, z)` over `orders` (into `out`).
pub fn sgm_curve(q: f64, z: f64, steps: u64, orders: &[f64], out: &mut [f64]) -> Result<()> {
    if out.len() != orders.len() {
        return Err(Error::len_mismatch(
            "sgm_curve out",
            orders.len(),
            out.len(),
        ));
    }
    for (o, &a) in out.iter_mut().zip(orders) {
        *o = if steps == 0 {
            0.0
        } else {
            steps as f64 * sgm_rdp(q, z, a)?
        };
    }
    Ok(())
}

/// Append-only RDP ledger.
#[derive(Debug, Clone)]
pub struct RdpLedger {
    orders: Vec<f64, MAX_ORDERS>,
    rdp: Vec<f64, MAX_ORDERS>,
    closed: HistoryBuf<Segment, SEGMENT_LOG>,
    open: Option<Segment>,
    /// Per-step curve of the open segment (reused while `(q, z)` does not change).
    unit: [f64; MAX_ORDERS],
    n_segments: u64,
    total_steps: u64,
}

impl Default for RdpLedger {
    fn default() -> Self {
        Self::new()
    }
}

impl RdpLedger {
    /// An empty ledger on dp-accounting's 156-order grid.
    pub fn new() -> Self {
        // The default grid fits by construction (156 <= MAX_ORDERS).
        let mut orders = Vec::new();
        let mut rdp = Vec::new();
        for &a in DP_ACCOUNTING_ORDERS.iter() {
            let _ = orders.push(a);
            let _ = rdp.push(0.0);
        }
        Self {
            orders,
            rdp,
            closed: HistoryBuf::new(),
            open: None,
            unit: [0.0; MAX_ORDERS],
            n_segments: 0,
            total_steps: 0,
        }
    }

    /// An empty ledger on a custom grid (each order > 1, at most [`MAX_ORDERS`]).
    pub fn with_orders(grid: &[f64]) -> Result<Self> {
        if grid.is_empty() {
            return Err(Error::invalid("orders", 0.0, "a non-empty grid"));
        }
        if grid.len() > MAX_ORDERS {
            return Err(Error::CapacityExceeded {
                what: "RDP order grid",
                capacity: MAX_ORDERS,
                needed: grid.len(),
            });
        }
        let mut s = Self::new();
        s.orders.clear();
        s.rdp.clear();
        for &a in grid {
            if a.is_nan() || a <= 1.0 {
                return Err(Error::invalid("alpha (RDP order)", a, "> 1"));
            }
            let _ = s.orders.push(a);
            let _ = s.rdp.push(0.0);
        }
        Ok(s)
    }

    /// The order grid.
    pub fn orders(&self) -> &[f64] {
        &self.orders
    }

    /// The composed RDP curve (same length as [`Self::orders`]).
    pub fn rdp(&self) -> &[f64] {
        &self.rdp
    }

    /// Total number of composed steps.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// Number of segments composed so far (all of them, not only the stored ones).
    pub fn n_segments(&self) -> u64 {
        self.n_segments
    }

    /// The most recent segments (at most [`SEGMENT_LOG`] + 1), oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> + '_ {
        self.closed.oldest_ordered().chain(self.open.iter())
    }

    /// The curve of `steps` more steps of `(q, z)` added to the ledger's, into `out`
    /// (length [`Self::orders`]); the ledger is not changed.
    pub fn curve_with(&self, q: f64, z: f64, steps: u64, out: &mut [f64]) -> Result<()> {
        if out.len() != self.orders.len() {
            return Err(Error::len_mismatch(
                "curve_with out",
                self.orders.len(),
                out.len(),
            ));
        }
        match self.open {
            Some(s) if s.q == q && s.z == z => {
                for (o, &u) in out.iter_mut().zip(self.unit.iter()) {
                    *o = if steps == 0 { 0.0 } else { steps as f64 * u };
                }
            }
            _ => sgm_curve(q, z, steps, &self.orders, out)?,
        }
        for (o, &r) in out.iter_mut().zip(self.rdp.iter()) {
            *o += r;
        }
        Ok(())
    }

    /// Composes `steps` SGM steps with sampling rate `q` and noise multiplier `z`. On error the
    /// ledger is unchanged.
    pub fn compose(&mut self, q: f64, z: f64, steps: u64) -> Result<()> {
        check_q(q)?;
        check_z(z)?;
        if steps == 0 {
            return Ok(());
        }
        let k = self.orders.len();
        let same = matches!(self.open, Some(s) if s.q == q && s.z == z);
        if !same {
            // Validate and compute before changing anything.
            let mut unit = [0.0f64; MAX_ORDERS];
            sgm_curve(q, z, 1, &self.orders, &mut unit[..k])?;
            if let Some(prev) = self.open.take() {
                self.closed.write(prev);
            }
            self.unit = unit;
            self.open = Some(Segment { q, z, steps: 0 });
            self.n_segments += 1;
        }
        let t = steps as f64;
        for (r, &u) in self.rdp.iter_mut().zip(self.unit.iter()) {
            *r += t * u;
        }
        if let Some(s) = self.open.as_mut() {
            s.steps = s.steps.saturating_add(steps);
        }
        self.total_steps = self.total_steps.saturating_add(steps);
        Ok(())
    }

    /// Epsilon at `delta` with the improved conversion, and the optimal order.
    pub fn epsilon(&self, delta: f64) -> Result<Guarantee> {
        epsilon_from_rdp(&self.orders, &self.rdp, delta, Conversion::Improved)
    }

    /// Epsilon at `delta` with the chosen conversion, and the optimal order.
    pub fn epsilon_with(&self, delta: f64, conversion: Conversion) -> Result<Guarantee> {
        epsilon_from_rdp(&self.orders, &self.rdp, delta, conversion)
    }

    /// Delta at `epsilon` (improved conversion), and the optimal order.
    pub fn delta(&self, epsilon: f64) -> Result<Guarantee> {
        delta_from_rdp(&self.orders, &self.rdp, epsilon)
    }

    /// Epsilon at `delta` if `steps` more steps of `(q, z)` were composed (improved conversion).
    pub fn epsilon_if(&self, q: f64, z: f64, steps: u64, delta: f64) -> Result<Guarantee> {
        let mut cur = [0.0f64; MAX_ORDERS];
        let k = self.orders.len();
        self.curve_with(q, z, steps, &mut cur[..k])?;
        epsilon_from_rdp(&self.orders, &cur[..k], delta, Conversion::Improved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounting::orders::OPACUS_ORDERS;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn heterogeneous_composition_matches_spec() {
        let mut l = RdpLedger::with_orders(&OPACUS_ORDERS).unwrap();
        l.compose(0.01, 1.0, 500).unwrap();
        l.compose(0.01, 2.0, 500).unwrap();
        let i = l.epsilon(1e-5).unwrap();
        assert!(rel(i.value, 1.712_238_849_657_277_8) < 1e-9, "{}", i.value);
        assert_eq!(i.order, 8.2);
        let c = l.epsilon_with(1e-5, Conversion::Classic).unwrap();
        assert!(rel(c.value, 2.131_862_568_449_453_7) < 1e-9);
        assert_eq!(c.order, 8.3);

        let mut l = RdpLedger::with_orders(&OPACUS_ORDERS).unwrap();
        l.compose(0.01, 0.8, 100).unwrap();
        l.compose(0.02, 1.5, 200).unwrap();
        l.compose(0.005, 1.2, 700).unwrap();
        let i = l.epsilon(1e-5).unwrap();
        assert!(rel(i.value, 2.370_690_190_039_928_4) < 1e-9, "{}", i.value);
        assert_eq!(i.order, 5.7);
        let c = l.epsilon_with(1e-5, Conversion::Classic).unwrap();
        assert!(rel(c.value, 2.933_905_808_258_144) < 1e-9);
        assert_eq!(c.order, 5.7);
        assert_eq!(l.n_segments(), 3);
        assert_eq!(l.total_steps(), 1000);
    }

    #[test]
    fn order_independence_and_splitting() {
        let segs = [(0.01, 0.8, 100u64), (0.02, 1.5, 200), (0.005, 1.2, 700)];
        let mut a = RdpLedger::new();
        for &(q, z, t) in &segs {
            a.compose(q, z, t).unwrap();
        }
        let mut b = RdpLedger::new();
        for &(q, z, t) in segs.iter().rev() {
            b.compose(q, z, t).unwrap();
        }
        for (x, y) in a.rdp().iter().zip(b.rdp()) {
            assert!((x - y).abs() <= 1e-15 * x.abs().max(1e-300) * 4.0);
        }
        let mut c = RdpLedger::new();
        c.compose(0.01, 1.1, 300).unwrap();
        c.compose(0.01, 1.1, 700).unwrap();
        let mut d = RdpLedger::new();
        d.compose(0.01, 1.1, 1000).unwrap();
        for (x, y) in c.rdp().iter().zip(d.rdp()) {
            assert!((x - y).abs() <= 1e-15 * x.abs() * 4.0);
        }
        // Equal consecutive steps share one segment; a change opens a new one.
        assert_eq!(c.n_segments(), 1);
        assert_eq!(c.segments().next().unwrap().steps, 1000);
        c.compose(0.01, 1.2, 1).unwrap();
        assert_eq!(c.n_segments(), 2);
    }

    #[test]
    fn errors_leave_the_ledger_unchanged() {
        let mut l = RdpLedger::new();
        l.compose(0.01, 1.0, 10).unwrap();
        let before = l.rdp().to_owned_array();
        assert!(l.compose(1.5, 1.0, 10).is_err());
        assert!(l.compose(0.1, -1.0, 10).is_err());
        assert_eq!(l.rdp(), &before[..]);
        assert!(matches!(
            RdpLedger::with_orders(&[0.5]),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            RdpLedger::with_orders(&[2.0; 200]),
            Err(Error::CapacityExceeded { .. })
        ));
        // steps = 0 -> eps 0.
        let e = RdpLedger::new();
        assert_eq!(e.epsilon(1e-5).unwrap().value, 0.0);
    }

    trait ToOwnedArray {
        fn to_owned_array(&self) -> [f64; 156];
    }
    impl ToOwnedArray for [f64] {
        fn to_owned_array(&self) -> [f64; 156] {
            core::array::from_fn(|i| self[i])
        }
    }
}
