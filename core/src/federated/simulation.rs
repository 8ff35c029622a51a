//! Simulated federated LoRA training with record-level DP-SGD on each client (FedSVD, Lee et al.
//! 2025, arXiv:2505.12805, §2 of spec 14).
//!
//! Each round every client starts from the global `(A, B)`, takes `local_steps` DP-SGD steps on the
//! loss `0.5 ||h - y||^2` — a Poisson batch (each record with probability `q`), per-sample gradients
//! of the trainable set clipped jointly to norm `C`, summed, plus `N(0, z^2 C^2)` per coordinate
//! from a Philox key unique to (client, round, step), divided by the expected batch `q n`, then
//! `theta -= lr g` — and sends its delta. The server averages deltas weighted by client sizes:
//! FedAvg-LoRA averages `A` and `B`; FFA-LoRA trains and averages only `B` (`A` frozen); FedSVD is
//! FFA-LoRA plus [`svd_refactor`] after aggregation every `period` rounds past `warmup`.
//! Without DP the same loop runs without clipping or noise. Privacy accounting is per client:
//! `local_steps * rounds` Poisson-subsampled Gaussian steps at rate `q` (FedSVD's refactor is
//! post-processing and costs nothing). Data must be finite; a run whose parameters or gradients
//! become non-finite (a too large learning rate) is reported as diverged, not as an error.

use alloc::vec;
use alloc::vec::Vec;

use nalgebra::DMatrix;

use super::lora::LoraLinear;
use super::refactor::svd_refactor;
use crate::error::{check, Error, Result};
use crate::rng::{bulk, seq, NoiseKey};

/// How the server combines client updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregator {
    /// Clients train `A` and `B`; both are averaged separately.
    FedAvgLora,
    /// Clients train `B` only; `A` stays at its random initialisation.
    FfaLora,
    /// FFA-LoRA plus the SVD re-factorisation when `(round + 1) % period == 0` and
    /// `round + 1 > warmup` (`period = 0` disables it).
    FedSvd {
        /// Rounds between re-factorisations.
        period: usize,
        /// Rounds before the first one.
        warmup: usize,
    },
}

/// DP-SGD noise on each client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientDp {
    /// Clipping norm `C > 0`.
    pub clip: f64,
    /// Noise multiplier `z >= 0`.
    pub noise_multiplier: f64,
}

/// The simulation's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FedConfig {
    /// Communication rounds.
    pub rounds: usize,
    /// Local DP-SGD steps per round.
    pub local_steps: usize,
    /// Poisson sampling rate `q` in `(0, 1]`.
    pub sample_rate: f64,
    /// Learning rate `>= 0`.
    pub lr: f64,
    /// DP-SGD settings, or `None` for non-private training.
    pub dp: Option<ClientDp>,
    /// Aggregation rule.
    pub aggregator: Aggregator,
    /// Seed of every random stream (batches and noise).
    pub seed: u64,
}

/// One client's (or the test set's) records.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientData {
    /// `n x d_in` inputs.
    pub x: Vec<f64>,
    /// `n x d_out` targets.
    pub y: Vec<f64>,
    /// Records.
    pub n: usize,
}

/// Diagnostics of one round.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RoundStats {
    /// Test MSE per output entry after the round.
    pub test_mse: f64,
    /// Mean per-sample gradient norm (trainable set) over the round's batches.
    pub mean_grad_norm: f64,
    /// Fraction of per-sample gradients that were clipped.
    pub clipped_fraction: f64,
    /// `max |B'A' - BA| / max(1, ||BA||_F)` of this round's re-factorisation (0 when none ran).
    pub refactor_product_err: f64,
    /// `max |A'A'^T - I|` after the re-factorisation (0 when none ran).
    pub refactor_orth_err: f64,
    /// Upper bound on the sine of the largest principal angle between `row(A)` and `row(A_0)`.
    pub subspace_sin: f64,
}

/// The trained layer and per-round diagnostics.
#[derive(Debug, Clone)]
pub struct FedRun {
    /// Final global layer.
    pub layer: LoraLinear,
    /// One entry per round.
    pub rounds: Vec<RoundStats>,
    /// Whether training diverged (non-finite parameters); stats stop at the divergence.
    pub diverged: bool,
}

/// Test MSE per output entry of `layer` on `data`.
pub fn test_mse(layer: &LoraLinear, data: &ClientData) -> f64 {
    let w = layer.effective_weight();
    let mut total = 0.0;
    for (x, y) in data
        .x
        .chunks_exact(layer.d_in)
        .zip(data.y.chunks_exact(layer.d_out))
    {
        for (wrow, &yi) in w.chunks_exact(layer.d_in).zip(y) {
            let h: f64 = wrow.iter().zip(x).map(|(p, q)| p * q).sum();
            total += (h - yi) * (h - yi);
        }
    }
    total / (data.n * layer.d_out) as f64
}

fn validate(
    layer: &LoraLinear,
    clients: &[ClientData],
    test: &ClientData,
    cfg: &FedConfig,
) -> Result<()> {
    if clients.is_empty() {
        return Err(Error::invalid("clients", 0.0, "at least one client"));
    }
    for c in clients.iter().chain(core::iter::once(test)) {
        if c.n == 0 {
            return Err(Error::invalid(
                "client records",
                0.0,
                "every client has at least one record",
            ));
        }
        check::same_len("client x", c.n * layer.d_in, c.x.len())?;
        check::same_len("client y", c.n * layer.d_out, c.y.len())?;
        check::all_finite_f64("client x", &c.x)?;
        check::all_finite_f64("client y", &c.y)?;
    }
    check::open(
        "sample_rate",
        cfg.sample_rate,
        0.0,
        1.0 + f64::EPSILON,
        "in (0, 1]",
    )?;
    check::non_negative("lr", cfg.lr)?;
    if let Some(dp) = cfg.dp {
        check::positive("clip", dp.clip)?;
        check::non_negative("noise_multiplier", dp.noise_multiplier)?;
    }
    Ok(())
}

/// Orthonormal basis of `row(A)` (rows of the returned `r x d_in` matrix).
fn row_basis(a: &[f64], r: usize, d_in: usize) -> DMatrix<f64> {
    let q = DMatrix::from_row_slice(r, d_in, a).transpose().qr().q();
    q.transpose()
}

/// `||A - (A Q^T) Q||_F` for orthonormal `A` rows: bounds the sine of the largest principal angle.
fn subspace_sin(a: &[f64], r: usize, d_in: usize, q0: &DMatrix<f64>) -> f64 {
    let am = DMatrix::from_row_slice(r, d_in, a);
    let resid = &am - (&am * q0.transpose()) * q0;
    resid.norm()
}

/// Runs the simulation from `layer` (its `A` is the shared random initialisation).
pub fn run(
    layer: LoraLinear,
    clients: &[ClientData],
    test: &ClientData,
    cfg: &FedConfig,
) -> Result<FedRun> {
    validate(&layer, clients, test, cfg)?;
    let (d_in, d_out, r) = (layer.d_in, layer.d_out, layer.r);
    let train_a = cfg.aggregator == Aggregator::FedAvgLora;
    let q0 = row_basis(&layer.a, r, d_in);
    let total_n: usize = clients.iter().map(|c| c.n).sum();
    let n_b = d_out * r;
    let n_a = if train_a { r * d_in } else { 0 };
    let mut global = layer;
    let mut stats = Vec::with_capacity(cfg.rounds);
    let (mut u, mut h, mut g) = (vec![0.0; r], vec![0.0; d_out], vec![0.0; d_out]);
    let (mut acc_b, mut acc_a) = (vec![0.0; n_b], vec![0.0; n_a]);
    let mut noise = vec![0.0; n_b + n_a];
    let blocks_per_step = (n_b + n_a).div_ceil(2) as u64;
    for round in 0..cfg.rounds {
        let mut delta_b = vec![0.0; n_b];
        let mut delta_a = vec![0.0; n_a];
        let (mut norm_sum, mut clipped, mut samples) = (0.0, 0usize, 0usize);
        for (k, client) in clients.iter().enumerate() {
            let mut local = global.clone();
            let mut rng =
                seq::default_rng(cfg.seed ^ ((k as u64 + 1) << 40) ^ ((round as u64 + 1) << 20));
            let denom = cfg.sample_rate * client.n as f64;
            for step in 0..cfg.local_steps {
                acc_b.fill(0.0);
                acc_a.fill(0.0);
                for i in 0..client.n {
                    if seq::uniform(&mut rng) >= cfg.sample_rate {
                        continue;
                    }
                    let x = &client.x[i * d_in..(i + 1) * d_in];
                    let y = &client.y[i * d_out..(i + 1) * d_out];
                    local.forward_one(x, &mut u, &mut h)?;
                    g.iter_mut()
                        .zip(h.iter().zip(y))
                        .for_each(|(gi, (hi, yi))| *gi = hi - yi);
                    let norm2 = local.sample_grad_sq_norm(x, &u, &g, train_a);
                    let norm = libm::sqrt(norm2);
                    if !norm.is_finite() {
                        // The data are finite (validated), so this is divergence: report it.
                        return Ok(FedRun {
                            layer: global,
                            rounds: stats,
                            diverged: true,
                        });
                    }
                    let factor = match cfg.dp {
                        Some(dp) if norm > dp.clip => {
                            clipped += 1;
                            dp.clip / norm
                        }
                        _ => 1.0,
                    };
                    norm_sum += norm;
                    samples += 1;
                    let acc_a_opt = if train_a { Some(&mut acc_a[..]) } else { None };
                    local.accumulate_sample_grad(x, &u, &g, factor, &mut acc_b, acc_a_opt);
                }
                if let Some(dp) = cfg.dp {
                    let key = NoiseKey {
                        seed: cfg.seed,
                        stream: k as u32,
                        offset: ((round * cfg.local_steps + step) as u64) * blocks_per_step,
                    };
                    bulk::fill_normal_f64(&key, &mut noise);
                    let sd = dp.noise_multiplier * dp.clip;
                    acc_b
                        .iter_mut()
                        .zip(&noise[..n_b])
                        .for_each(|(a, z)| *a += sd * z);
                    acc_a
                        .iter_mut()
                        .zip(&noise[n_b..])
                        .for_each(|(a, z)| *a += sd * z);
                }
                let step_size = cfg.lr / denom;
                local
                    .b
                    .iter_mut()
                    .zip(&acc_b)
                    .for_each(|(p, gr)| *p -= step_size * gr);
                if train_a {
                    local
                        .a
                        .iter_mut()
                        .zip(&acc_a)
                        .for_each(|(p, gr)| *p -= step_size * gr);
                }
            }
            let w = client.n as f64 / total_n as f64;
            for ((d, new), old) in delta_b.iter_mut().zip(&local.b).zip(&global.b) {
                *d += w * (new - old);
            }
            if train_a {
                for ((d, new), old) in delta_a.iter_mut().zip(&local.a).zip(&global.a) {
                    *d += w * (new - old);
                }
            }
        }
        global.b.iter_mut().zip(&delta_b).for_each(|(p, d)| *p += d);
        global.a.iter_mut().zip(&delta_a).for_each(|(p, d)| *p += d);
        if global.b.iter().chain(&global.a).any(|v| !v.is_finite()) {
            return Ok(FedRun {
                layer: global,
                rounds: stats,
                diverged: true,
            });
        }
        let mut st = RoundStats {
            mean_grad_norm: if samples > 0 {
                norm_sum / samples as f64
            } else {
                0.0
            },
            clipped_fraction: if samples > 0 {
                clipped as f64 / samples as f64
            } else {
                0.0
            },
            ..RoundStats::default()
        };
        if let Aggregator::FedSvd { period, warmup } = cfg.aggregator {
            if period > 0 && (round + 1) % period == 0 && round + 1 > warmup {
                let before = product(&global.b, &global.a, d_out, r, d_in);
                let f = svd_refactor(&global.b, &global.a, d_out, d_in, r)?;
                let after = product(&f.b, &f.a, d_out, r, d_in);
                let fro = libm::sqrt(before.iter().map(|v| v * v).sum::<f64>());
                let max_diff = before
                    .iter()
                    .zip(&after)
                    .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
                st.refactor_product_err = max_diff / fro.max(1.0);
                let aat = product(&f.a, &transpose(&f.a, r, d_in), r, d_in, r);
                st.refactor_orth_err = (0..r * r).fold(0.0f64, |m, idx| {
                    let eye = if idx / r == idx % r { 1.0 } else { 0.0 };
                    m.max((aat[idx] - eye).abs())
                });
                global.b = f.b;
                global.a = f.a;
                st.subspace_sin = subspace_sin(&global.a, r, d_in, &q0);
            }
        }
        st.test_mse = test_mse(&global, test);
        stats.push(st);
    }
    Ok(FedRun {
        layer: global,
        rounds: stats,
        diverged: false,
    })
}

fn product(x: &[f64], y: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for p in 0..k {
            let xv = x[i * k + p];
            for j in 0..m {
                out[i * m + j] += xv * y[p * m + j];
            }
        }
    }
    out
}

fn transpose(x: &[f64], n: usize, m: usize) -> Vec<f64> {
    let mut t = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            t[j * n + i] = x[i * m + j];
        }
    }
    t
}

/// Non-iid split of `labels` over `clients` by Dirichlet(`alpha`) label skew: for each class, the
/// shares of its records across clients are drawn from `Dir(alpha 1)`. Returns each client's
/// record indices; an empty client is an error (draw again with another seed or a larger alpha).
pub fn dirichlet_label_split<R: rand_core::Rng + ?Sized>(
    labels: &[usize],
    classes: usize,
    clients: usize,
    alpha: f64,
    rng: &mut R,
) -> Result<Vec<Vec<usize>>> {
    check::nonzero("clients", clients)?;
    check::nonzero("classes", classes)?;
    check::positive("alpha", alpha)?;
    let mut out = vec![Vec::new(); clients];
    let mut shares = vec![0.0; clients];
    for c in 0..classes {
        let idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        let mut total = 0.0;
        for s in shares.iter_mut() {
            *s = seq::gamma(rng, alpha, 1.0)?;
            total += *s;
        }
        let mut start = 0usize;
        let mut cum = 0.0;
        for (k, s) in shares.iter().enumerate() {
            cum += s / total;
            let end = if k + 1 == clients {
                idx.len()
            } else {
                (libm::round(cum * idx.len() as f64) as usize).min(idx.len())
            };
            out[k].extend_from_slice(&idx[start..end.max(start)]);
            start = end.max(start);
        }
    }
    if let Some(k) = out.iter().position(Vec::is_empty) {
        return Err(Error::invalid(
            "client records",
            k as f64,
            "every client receives records",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(seed: u64) -> (LoraLinear, Vec<ClientData>, ClientData) {
        let mut rng = seq::default_rng(seed);
        let (d_in, d_out, r) = (6, 3, 2);
        let mut w0 = vec![0.0; d_out * d_in];
        seq::fill_gaussian_f64(&mut rng, 0.3, &mut w0).unwrap();
        let mut a = vec![0.0; r * d_in];
        seq::fill_gaussian_f64(&mut rng, 0.4, &mut a).unwrap();
        let layer = LoraLinear::new(
            d_in,
            d_out,
            r,
            r as f64,
            w0.clone(),
            a,
            vec![0.0; d_out * r],
        )
        .unwrap();
        let mut mk = |n: usize| {
            let mut x = vec![0.0; n * d_in];
            seq::fill_gaussian_f64(&mut rng, 1.0, &mut x).unwrap();
            let y: Vec<f64> = x
                .chunks_exact(d_in)
                .flat_map(|xi| {
                    (0..d_out)
                        .map(|o| {
                            (0..d_in)
                                .map(|j| (w0[o * d_in + j] + 0.1) * xi[j])
                                .sum::<f64>()
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            ClientData { x, y, n }
        };
        let clients = vec![mk(30), mk(20)];
        let test = mk(50);
        (layer, clients, test)
    }

    fn cfg(aggregator: Aggregator, dp: Option<ClientDp>) -> FedConfig {
        FedConfig {
            rounds: 4,
            local_steps: 3,
            sample_rate: 0.5,
            lr: 0.1,
            dp,
            aggregator,
            seed: 11,
        }
    }

    #[test]
    fn fedsvd_with_period_zero_is_ffa_bit_for_bit() {
        let (layer, clients, test) = toy(1);
        let dp = Some(ClientDp {
            clip: 1.0,
            noise_multiplier: 1.0,
        });
        let ffa = run(
            layer.clone(),
            &clients,
            &test,
            &cfg(Aggregator::FfaLora, dp),
        )
        .unwrap();
        let svd0 = run(
            layer,
            &clients,
            &test,
            &cfg(
                Aggregator::FedSvd {
                    period: 0,
                    warmup: 0,
                },
                dp,
            ),
        )
        .unwrap();
        assert_eq!(ffa.layer, svd0.layer);
    }

    #[test]
    fn fedsvd_rounds_keep_the_product_the_orthonormality_and_the_subspace() {
        let (layer, clients, test) = toy(2);
        let dp = Some(ClientDp {
            clip: 0.5,
            noise_multiplier: 1.2,
        });
        let run = run(
            layer,
            &clients,
            &test,
            &cfg(
                Aggregator::FedSvd {
                    period: 1,
                    warmup: 0,
                },
                dp,
            ),
        )
        .unwrap();
        assert_eq!(run.rounds.len(), 4);
        for st in &run.rounds {
            assert!(
                st.refactor_product_err < 1e-10,
                "{}",
                st.refactor_product_err
            );
            assert!(st.refactor_orth_err < 1e-12, "{}", st.refactor_orth_err);
            assert!(st.subspace_sin < 1e-6, "{}", st.subspace_sin);
        }
    }

    #[test]
    fn one_client_fedavg_equals_local_training_and_training_helps() {
        let (layer, clients, test) = toy(3);
        let one = &clients[..1];
        let mut c = cfg(Aggregator::FfaLora, None);
        c.sample_rate = 1.0;
        let fed = run(layer.clone(), one, &test, &c).unwrap();
        // Local training by hand: rounds * local_steps full-batch GD steps on B only.
        let mut local = layer.clone();
        let (mut u, mut h) = (vec![0.0; 2], vec![0.0; 3]);
        for _ in 0..c.rounds * c.local_steps {
            let mut acc = vec![0.0; 6];
            for i in 0..one[0].n {
                let x = &one[0].x[i * 6..(i + 1) * 6];
                local.forward_one(x, &mut u, &mut h).unwrap();
                let g: Vec<f64> = h
                    .iter()
                    .zip(&one[0].y[i * 3..(i + 1) * 3])
                    .map(|(a, b)| a - b)
                    .collect();
                local.accumulate_sample_grad(x, &u, &g, 1.0, &mut acc, None);
            }
            local
                .b
                .iter_mut()
                .zip(&acc)
                .for_each(|(p, g)| *p -= c.lr / one[0].n as f64 * g);
        }
        assert!(fed
            .layer
            .b
            .iter()
            .zip(&local.b)
            .all(|(x, y)| (x - y).abs() < 1e-12));
        assert!(fed.rounds.last().unwrap().test_mse < test_mse(&layer, &test));
    }

    #[test]
    fn bad_federation_inputs_are_typed_errors() {
        let (layer, clients, test) = toy(4);
        let c = cfg(Aggregator::FfaLora, None);
        assert!(run(layer.clone(), &[], &test, &c).is_err());
        let empty = ClientData {
            x: vec![],
            y: vec![],
            n: 0,
        };
        assert!(run(layer.clone(), &[empty], &test, &c).is_err());
        let mut bad = c;
        bad.sample_rate = 0.0;
        assert!(run(layer, &clients, &test, &bad).is_err());
        let mut rng = seq::default_rng(0);
        assert!(dirichlet_label_split(&[0, 1], 2, 0, 0.5, &mut rng).is_err());
    }

    #[test]
    fn dirichlet_split_partitions_every_record() {
        let labels: Vec<usize> = (0..600).map(|i| i % 3).collect();
        let mut rng = seq::default_rng(8);
        let parts = dirichlet_label_split(&labels, 3, 4, 1.0, &mut rng).unwrap();
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..600).collect::<Vec<_>>());
    }
}
