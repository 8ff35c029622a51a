//! The SAC replay buffer (Haarnoja et al. 2018, arXiv 1801.01290, Algorithm 1, "D"): a ring of
//! fixed capacity holding transitions `(s, a, r, s', done)`; once full, each push overwrites the
//! oldest transition. Minibatches are drawn uniformly with replacement.

use alloc::vec;
use alloc::vec::Vec;

use rand_core::Rng;

use crate::error::{Error, Result};
use crate::rng::seq;

/// A minibatch of transitions, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// States, `batch x state_dim`.
    pub states: Vec<f64>,
    /// Actions, `batch x action_dim`.
    pub actions: Vec<f64>,
    /// Rewards.
    pub rewards: Vec<f64>,
    /// Next states, `batch x state_dim`.
    pub next_states: Vec<f64>,
    /// 1 if the episode ended with this transition, else 0.
    pub dones: Vec<f64>,
}

/// One stored transition `(s, a, r, s', done)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<'a> {
    /// State `s`.
    pub state: &'a [f64],
    /// Action `a`.
    pub action: &'a [f64],
    /// Reward `r`.
    pub reward: f64,
    /// Next state `s'`.
    pub next_state: &'a [f64],
    /// Whether the episode ended.
    pub done: bool,
}

/// Fixed-capacity ring buffer of transitions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBuffer {
    state_dim: usize,
    action_dim: usize,
    capacity: usize,
    len: usize,
    head: usize,
    data: Vec<f64>,
}

impl ReplayBuffer {
    /// An empty buffer of `capacity` transitions.
    pub fn new(capacity: usize, state_dim: usize, action_dim: usize) -> Result<Self> {
        if capacity == 0 || state_dim == 0 || action_dim == 0 {
            return Err(Error::invalid(
                "replay buffer",
                capacity as f64,
                "capacity, state and action dimensions >= 1",
            ));
        }
        let w = 2 * state_dim + action_dim + 2;
        Ok(Self {
            state_dim,
            action_dim,
            capacity,
            len: 0,
            head: 0,
            data: vec![0.0; capacity * w],
        })
    }

    fn width(&self) -> usize {
        2 * self.state_dim + self.action_dim + 2
    }

    /// Number of stored transitions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores a transition (overwrites the oldest when full). Non-finite entries are rejected.
    pub fn push(&mut self, s: &[f64], a: &[f64], r: f64, s2: &[f64], done: bool) -> Result<()> {
        if s.len() != self.state_dim || s2.len() != self.state_dim {
            return Err(Error::len_mismatch("replay state", self.state_dim, s.len()));
        }
        if a.len() != self.action_dim {
            return Err(Error::len_mismatch(
                "replay action",
                self.action_dim,
                a.len(),
            ));
        }
        let rr = [r];
        let parts: [(&'static str, &[f64]); 4] = [
            ("replay state", s),
            ("replay action", a),
            ("replay next state", s2),
            ("replay reward", &rr),
        ];
        for (what, xs) in parts {
            if let Some(index) = xs.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite { what, index });
            }
        }
        let w = self.width();
        let row = &mut self.data[self.head * w..(self.head + 1) * w];
        let (sd, ad) = (self.state_dim, self.action_dim);
        row[..sd].copy_from_slice(s);
        row[sd..sd + ad].copy_from_slice(a);
        row[sd + ad] = r;
        row[sd + ad + 1..2 * sd + ad + 1].copy_from_slice(s2);
        row[2 * sd + ad + 1] = if done { 1.0 } else { 0.0 };
        self.head = (self.head + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        Ok(())
    }

    /// The transition in slot `i` (`0 <= i < len`).
    pub fn get(&self, i: usize) -> Result<Transition<'_>> {
        if i >= self.len {
            return Err(Error::invalid("replay index", i as f64, "below len()"));
        }
        let w = self.width();
        let row = &self.data[i * w..(i + 1) * w];
        let (sd, ad) = (self.state_dim, self.action_dim);
        Ok(Transition {
            state: &row[..sd],
            action: &row[sd..sd + ad],
            reward: row[sd + ad],
            next_state: &row[sd + ad + 1..2 * sd + ad + 1],
            done: row[2 * sd + ad + 1] > 0.5,
        })
    }

    /// Draws `batch` transitions uniformly with replacement into `out`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        batch: usize,
        out: &mut Batch,
    ) -> Result<()> {
        if self.len == 0 {
            return Err(Error::invalid(
                "replay buffer",
                0.0,
                "at least one transition",
            ));
        }
        out.states.clear();
        out.actions.clear();
        out.rewards.clear();
        out.next_states.clear();
        out.dones.clear();
        for _ in 0..batch {
            let i = seq::below(rng, self.len)?;
            let tr = self.get(i)?;
            out.states.extend_from_slice(tr.state);
            out.actions.extend_from_slice(tr.action);
            out.rewards.push(tr.reward);
            out.next_states.extend_from_slice(tr.next_state);
            out.dones.push(if tr.done { 1.0 } else { 0.0 });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps_and_overwrites_oldest() {
        let mut b = ReplayBuffer::new(3, 1, 1).unwrap();
        for k in 0..5 {
            let x = k as f64;
            b.push(&[x], &[-x], 10.0 * x, &[x + 0.5], k == 4).unwrap();
        }
        assert_eq!(b.len(), 3);
        // Slots: 0 <- k = 3, 1 <- k = 4, 2 <- k = 2.
        let rewards: Vec<f64> = (0..3).map(|i| b.get(i).unwrap().reward).collect();
        assert_eq!(rewards, [30.0, 40.0, 20.0]);
        let t = b.get(1).unwrap();
        assert_eq!(
            (t.state[0], t.action[0], t.next_state[0], t.done),
            (4.0, -4.0, 4.5, true)
        );
        assert!(b.get(3).is_err());
        let mut batch = Batch::default();
        b.sample(&mut seq::default_rng(0), 50, &mut batch).unwrap();
        assert_eq!(batch.rewards.len(), 50);
        assert!(batch.rewards.iter().all(|r| [20.0, 30.0, 40.0].contains(r)));
        for r in [20.0, 30.0, 40.0] {
            assert!(batch.rewards.contains(&r), "every slot drawn");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut b = ReplayBuffer::new(2, 2, 1).unwrap();
        assert!(b.push(&[0.0], &[0.0], 0.0, &[0.0, 0.0], false).is_err());
        assert!(b
            .push(&[0.0, f64::NAN], &[0.0], 0.0, &[0.0, 0.0], false)
            .is_err());
        assert!(b
            .push(&[0.0, 0.0], &[0.0], f64::INFINITY, &[0.0, 0.0], false)
            .is_err());
        assert!(b
            .sample(&mut seq::default_rng(0), 1, &mut Batch::default())
            .is_err());
        assert!(ReplayBuffer::new(0, 1, 1).is_err());
    }
}
