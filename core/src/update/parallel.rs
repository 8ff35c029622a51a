//! The fused update split over threads (`std`): the tensor is cut into `threads` contiguous chunks
//! (multiples of 64 elements, so chunks start on cache lines and on Philox block boundaries) and
//! each runs [`apply_update`] with its `start` offset, so the noise and the result are
//! bit-identical for any thread count. Cost: that of [`apply_update`] divided over the threads,
//! plus one `std::thread::scope` spawn per extra thread.

use std::vec::Vec;

use crate::backend::{apply_update, UpdateRule};
use crate::error::{check, Error, Result};
use crate::rng::NoiseKey;

/// [`apply_update`] on up to `threads` threads (`threads >= 1`; chunks below 16 Ki elements are
/// not worth a thread and are merged).
pub fn apply_update_threads(
    rule: &UpdateRule,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [&mut [f32]],
    noise: Option<(NoiseKey, f32)>,
    start: usize,
    threads: usize,
) -> Result<()> {
    check::nonzero("threads", threads)?;
    rule.validate()?;
    let n = params.len();
    check::same_len("grads", n, grads.len())?;
    let need = rule.state_buffers();
    if state.len() < need {
        return Err(Error::invalid(
            "state",
            state.len() as f64,
            "one buffer per rule state",
        ));
    }
    for s in state.iter().take(need) {
        check::same_len("state", n, s.len())?;
    }
    const MIN: usize = 16 * 1024;
    let t = threads.min(n.div_ceil(MIN)).max(1);
    if t == 1 {
        return apply_update(rule, params, grads, state, noise, start);
    }
    let chunk = n.div_ceil(t).div_ceil(64) * 64;
    // Per-thread slices of params, grads and each used state buffer.
    let mut state_chunks: Vec<Vec<&mut [f32]>> = (0..t).map(|_| Vec::with_capacity(need)).collect();
    for s in state.iter_mut().take(need) {
        for (k, c) in s.chunks_mut(chunk).enumerate() {
            if let Some(v) = state_chunks.get_mut(k) {
                v.push(c);
            }
        }
    }
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(t);
        let mut mine = None;
        for (k, ((p, g), mut st)) in params
            .chunks_mut(chunk)
            .zip(grads.chunks(chunk))
            .zip(state_chunks)
            .enumerate()
        {
            let off = start + k * chunk;
            if k == 0 {
                mine = Some((p, g, st, off));
            } else {
                handles.push(scope.spawn(move || apply_update(rule, p, g, &mut st, noise, off)));
            }
        }
        let mut res = match mine {
            Some((p, g, mut st, off)) => apply_update(rule, p, g, &mut st, noise, off),
            None => Ok(()),
        };
        for h in handles {
            let r = h.join().unwrap_or(Err(Error::Backend {
                backend: "cpu",
                op: "fused_update thread",
            }));
            if res.is_ok() {
                res = r;
            }
        }
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_for_any_thread_count() {
        let n = 100_003;
        let grads: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let rules = [
            UpdateRule::AdamW {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01,
                step: 3,
            },
            UpdateRule::Sgd {
                lr: 0.1,
                momentum: 0.9,
                dampening: 0.0,
                weight_decay: 1e-4,
                nesterov: true,
                step: 2,
            },
            UpdateRule::SgdSai {
                lr: 1e-3,
                momentum: 0.9,
                weight_decay: 0.01,
                gsnr: 30.0,
                step: 5,
            },
        ];
        for rule in rules {
            let mut out: Vec<Vec<f32>> = Vec::new();
            for threads in [1, 2, 3, 8] {
                let mut p = vec![0.5f32; n];
                let mut a = vec![0.1f32; n];
                let mut b = vec![0.2f32; n];
                apply_update_threads(
                    &rule,
                    &mut p,
                    &grads,
                    &mut [&mut a, &mut b],
                    Some((NoiseKey::new(5, 1), 0.3)),
                    11,
                    threads,
                )
                .unwrap();
                p.extend_from_slice(&a);
                out.push(p);
            }
            for o in &out[1..] {
                assert_eq!(o, &out[0]);
            }
        }
        assert!(matches!(
            apply_update_threads(&rules[0], &mut [0.0], &[0.0], &mut [], None, 0, 0),
            Err(Error::InvalidParam {
                name: "threads",
                ..
            })
        ));
    }
}
