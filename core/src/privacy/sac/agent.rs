//! Soft actor-critic (Haarnoja, Zhou, Abbeel, Levine 2018, arXiv 1801.01290; automatic temperature
//! from Haarnoja et al. 2018b, arXiv 1812.05905), the learner of RLDP's hyper-policy (Khadangi et
//! al. 2025, arXiv 2507.22565).
//!
//! Per gradient update, on a minibatch `(s, a, r, s', d)` drawn from the replay buffer:
//! - critics (twin Q, clipped double-Q): `y = r + gamma (1 - d) (min_j Qbar_j(s', a') - alpha log pi(a'|s'))`
//!   with `a' ~ pi(.|s')`, and `L_Q_j = mean (Q_j(s, a) - y)^2`;
//! - actor (reparameterised, `a~ = tanh(mu(s) + sigma(s) eps)`):
//!   `L_pi = mean (alpha log pi(a~|s) - min_j Q_j(s, a~))`;
//! - temperature: `L_alpha = -mean log alpha (log pi(a~|s) + H_target)`, `H_target = -dim(a)`, on
//!   `log alpha`;
//! - targets: `Qbar_j <- tau Q_j + (1 - tau) Qbar_j` (Polyak).
//!
//! Each network is updated with Adam. Networks are small `tanh` MLPs with hand-written backward
//! passes ([`super::net`]); all randomness comes from one seeded [`DefaultRng`].
//! Cost per update: `O(batch * (actor + 4 critic) params)`.

use alloc::vec;
use alloc::vec::Vec;

use super::adam::Adam;
use super::net::{polyak, Net, NetCache};
use super::replay::{Batch, ReplayBuffer};
use super::squash;
use crate::error::{check, Error, Result};
use crate::rng::seq::{self, DefaultRng};

/// Hyper-parameters of [`Sac`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SacConfig {
    /// State (observation) dimension.
    pub state_dim: usize,
    /// Action dimension (actions live in `[-1, 1]^action_dim`).
    pub action_dim: usize,
    /// Width of the two hidden layers of every network.
    pub hidden: usize,
    /// Discount `gamma` (paper: 0.99).
    pub gamma: f64,
    /// Polyak rate `tau` (paper: 0.005).
    pub tau: f64,
    /// Actor learning rate (paper: 3e-4).
    pub lr_actor: f64,
    /// Critic learning rate (paper: 3e-4).
    pub lr_critic: f64,
    /// Temperature learning rate (paper: 3e-4).
    pub lr_alpha: f64,
    /// Minibatch size.
    pub batch: usize,
    /// Replay capacity.
    pub capacity: usize,
    /// Initial temperature `alpha`.
    pub init_alpha: f64,
    /// Target entropy (paper: `-action_dim`).
    pub target_entropy: f64,
    /// Seed of the agent's generator (initialisation, exploration, minibatches).
    pub seed: u64,
}

impl SacConfig {
    /// The paper's defaults (gamma 0.99, tau 0.005, learning rates 3e-4, target entropy
    /// `-action_dim`, initial alpha 1) with small networks (two hidden layers of 32), minibatch 64
    /// and a replay capacity of 10 000.
    pub fn new(state_dim: usize, action_dim: usize, seed: u64) -> Self {
        Self {
            state_dim,
            action_dim,
            hidden: 32,
            gamma: 0.99,
            tau: 0.005,
            lr_actor: 3e-4,
            lr_critic: 3e-4,
            lr_alpha: 3e-4,
            batch: 64,
            capacity: 10_000,
            init_alpha: 1.0,
            target_entropy: -(action_dim as f64),
            seed,
        }
    }

    fn check(&self) -> Result<()> {
        if self.state_dim == 0 || self.action_dim == 0 || self.hidden == 0 {
            return Err(Error::invalid(
                "SAC dimensions",
                0.0,
                "state, action and hidden widths >= 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(Error::invalid("gamma", self.gamma, "in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.tau) {
            return Err(Error::invalid("tau", self.tau, "in [0, 1]"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("SAC batch", 0.0, "an integer >= 1"));
        }
        if !(self.init_alpha.is_finite() && self.init_alpha > 0.0) {
            return Err(Error::invalid(
                "init_alpha",
                self.init_alpha,
                "a finite number > 0",
            ));
        }
        if !self.target_entropy.is_finite() {
            return Err(Error::invalid(
                "target_entropy",
                self.target_entropy,
                "a finite number",
            ));
        }
        Ok(())
    }
}

/// Losses and temperature of the last update.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SacLosses {
    /// `L_Q` of the first critic.
    pub critic1: f64,
    /// `L_Q` of the second critic.
    pub critic2: f64,
    /// `L_pi`.
    pub actor: f64,
    /// `L_alpha`.
    pub alpha_loss: f64,
    /// `alpha` after the update.
    pub alpha: f64,
    /// Minibatch estimate of the policy entropy, `-mean log pi`.
    pub entropy: f64,
}

/// `L_Q = mean_b (Q(s_b, a_b) - y_b)^2`; adds `dL/dparams` to `grads` if given.
pub fn critic_loss(
    q: &Net,
    states: &[f64],
    actions: &[f64],
    targets: &[f64],
    grads: Option<&mut [f64]>,
) -> Result<f64> {
    let b = targets.len();
    let x = concat_rows(states, actions, b)?;
    let mut cache = NetCache::default();
    let mut v = vec![0.0; b];
    q.forward(&x, b, &mut cache, &mut v)?;
    let bf = b as f64;
    let loss = v
        .iter()
        .zip(targets)
        .map(|(q, y)| (q - y) * (q - y))
        .sum::<f64>()
        / bf;
    if let Some(g) = grads {
        let d: Vec<f64> = v
            .iter()
            .zip(targets)
            .map(|(q, y)| 2.0 * (q - y) / bf)
            .collect();
        q.backward(&cache, &d, g, None)?;
    }
    Ok(loss)
}

/// `L_pi = mean_b (alpha log pi(a~_b|s_b) - min_j Q_j(s_b, a~_b))` with `a~_b` reparameterised by
/// the standard normal draws `eps` (`batch x action_dim`). Returns `(L_pi, mean log pi)` and adds
/// `dL_pi/d actor params` to `grads` if given (critics held fixed).
pub fn actor_loss(
    actor: &Net,
    critics: [&Net; 2],
    alpha: f64,
    states: &[f64],
    eps: &[f64],
    grads: Option<&mut [f64]>,
) -> Result<(f64, f64)> {
    let ad = actor.output_dim() / 2;
    let sd = actor.input_dim();
    if ad == 0 || !states.len().is_multiple_of(sd) {
        return Err(Error::len_mismatch("actor_loss states", sd, states.len()));
    }
    let b = states.len() / sd;
    check::same_len("actor_loss eps", b * ad, eps.len())?;
    let mut cache = NetCache::default();
    let mut out = vec![0.0; b * 2 * ad];
    actor.forward(states, b, &mut cache, &mut out)?;
    let mut ls = vec![0.0; b * ad];
    let mut act = vec![0.0; b * ad];
    let mut logp = vec![0.0; b];
    for r in 0..b {
        let row = &out[r * 2 * ad..(r + 1) * 2 * ad];
        for j in 0..ad {
            ls[r * ad + j] = squash::log_std(row[ad + j]);
        }
        logp[r] = squash::sample(
            &row[..ad],
            &ls[r * ad..(r + 1) * ad],
            &eps[r * ad..(r + 1) * ad],
            &mut act[r * ad..(r + 1) * ad],
        );
    }
    let x = concat_rows(states, &act, b)?;
    let mut qc = [NetCache::default(), NetCache::default()];
    let mut qv = [vec![0.0; b], vec![0.0; b]];
    for j in 0..2 {
        critics[j].forward(&x, b, &mut qc[j], &mut qv[j])?;
    }
    let bf = b as f64;
    let mut loss = 0.0;
    for r in 0..b {
        loss += alpha * logp[r] - qv[0][r].min(qv[1][r]);
    }
    loss /= bf;
    let mean_logp = logp.iter().sum::<f64>() / bf;
    if let Some(g) = grads {
        // dL/da~ through the smaller critic of each row.
        let mut d_act = vec![0.0; b * ad];
        for j in 0..2 {
            let d_q: Vec<f64> = (0..b)
                .map(|r| {
                    let pick = if j == 0 {
                        qv[0][r] <= qv[1][r]
                    } else {
                        qv[1][r] < qv[0][r]
                    };
                    if pick {
                        -1.0 / bf
                    } else {
                        0.0
                    }
                })
                .collect();
            if d_q.iter().all(|&v| v == 0.0) {
                continue;
            }
            let mut scratch = vec![0.0; critics[j].num_params()];
            let mut d_x = vec![0.0; b * (sd + ad)];
            critics[j].backward(&qc[j], &d_q, &mut scratch, Some(&mut d_x))?;
            for r in 0..b {
                for k in 0..ad {
                    d_act[r * ad + k] += d_x[r * (sd + ad) + sd + k];
                }
            }
        }
        let mut d_out = vec![0.0; b * 2 * ad];
        for r in 0..b {
            let row = &out[r * 2 * ad..(r + 1) * 2 * ad];
            let (d_mu, d_rho) = d_out[r * 2 * ad..(r + 1) * 2 * ad].split_at_mut(ad);
            squash::backward(
                &ls[r * ad..(r + 1) * ad],
                &eps[r * ad..(r + 1) * ad],
                &act[r * ad..(r + 1) * ad],
                &d_act[r * ad..(r + 1) * ad],
                alpha / bf,
                d_mu,
                d_rho,
            );
            for j in 0..ad {
                d_rho[j] *= squash::log_std_grad(row[ad + j]);
            }
        }
        actor.backward(&cache, &d_out, g, None)?;
    }
    Ok((loss, mean_logp))
}

fn concat_rows(a: &[f64], b: &[f64], rows: usize) -> Result<Vec<f64>> {
    if rows == 0 || !a.len().is_multiple_of(rows) || !b.len().is_multiple_of(rows) {
        return Err(Error::len_mismatch("SAC minibatch rows", rows, a.len()));
    }
    let (wa, wb) = (a.len() / rows, b.len() / rows);
    let mut x = Vec::with_capacity(rows * (wa + wb));
    for r in 0..rows {
        x.extend_from_slice(&a[r * wa..(r + 1) * wa]);
        x.extend_from_slice(&b[r * wb..(r + 1) * wb]);
    }
    Ok(x)
}

/// A soft actor-critic agent with its replay buffer.
#[derive(Debug, Clone)]
pub struct Sac {
    cfg: SacConfig,
    actor: Net,
    critics: [Net; 2],
    targets: [Net; 2],
    opt_actor: Adam,
    opt_critics: [Adam; 2],
    log_alpha: f64,
    opt_alpha: Adam,
    buffer: ReplayBuffer,
    rng: DefaultRng,
    batch: Batch,
    updates: u64,
    last: SacLosses,
}

impl Sac {
    /// A fresh agent (targets start equal to their critics).
    pub fn new(cfg: SacConfig) -> Result<Self> {
        cfg.check()?;
        let mut rng = seq::default_rng(cfg.seed);
        let (s, a, h) = (cfg.state_dim, cfg.action_dim, cfg.hidden);
        let actor = Net::new(&[s, h, h, 2 * a], 0.1, &mut rng)?;
        let q1 = Net::new(&[s + a, h, h, 1], 1.0, &mut rng)?;
        let q2 = Net::new(&[s + a, h, h, 1], 1.0, &mut rng)?;
        let np_a = actor.num_params();
        let np_q = q1.num_params();
        Ok(Self {
            cfg,
            targets: [q1.clone(), q2.clone()],
            critics: [q1, q2],
            actor,
            opt_actor: Adam::new(np_a, cfg.lr_actor)?,
            opt_critics: [
                Adam::new(np_q, cfg.lr_critic)?,
                Adam::new(np_q, cfg.lr_critic)?,
            ],
            log_alpha: libm::log(cfg.init_alpha),
            opt_alpha: Adam::new(1, cfg.lr_alpha)?,
            buffer: ReplayBuffer::new(cfg.capacity.max(1), s, a)?,
            rng,
            batch: Batch::default(),
            updates: 0,
            last: SacLosses {
                alpha: cfg.init_alpha,
                ..SacLosses::default()
            },
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SacConfig {
        &self.cfg
    }

    /// The actor network (outputs `mu` then the raw log-scale, `2 action_dim`).
    pub fn actor(&self) -> &Net {
        &self.actor
    }

    /// The twin critics.
    pub fn critics(&self) -> [&Net; 2] {
        [&self.critics[0], &self.critics[1]]
    }

    /// The target critics.
    pub fn target_critics(&self) -> [&Net; 2] {
        [&self.targets[0], &self.targets[1]]
    }

    /// The temperature `alpha = exp(log alpha)`.
    pub fn alpha(&self) -> f64 {
        libm::exp(self.log_alpha)
    }

    /// The replay buffer.
    pub fn buffer(&self) -> &ReplayBuffer {
        &self.buffer
    }

    /// Gradient updates done so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Losses of the last update.
    pub fn last_losses(&self) -> SacLosses {
        self.last
    }

    fn check_state(&self, state: &[f64]) -> Result<()> {
        check::same_len("SAC state", self.cfg.state_dim, state.len())?;
        if let Some(index) = state.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "SAC state",
                index,
            });
        }
        Ok(())
    }

    /// The action for `state`: a draw from `pi(.|s)` or, if `deterministic`, `tanh(mu(s))`.
    pub fn act(&mut self, state: &[f64], deterministic: bool, action: &mut [f64]) -> Result<()> {
        self.check_state(state)?;
        let ad = self.cfg.action_dim;
        check::same_len("SAC action", ad, action.len())?;
        let mut cache = NetCache::default();
        let mut out = vec![0.0; 2 * ad];
        self.actor.forward(state, 1, &mut cache, &mut out)?;
        if deterministic {
            for j in 0..ad {
                action[j] = libm::tanh(out[j]);
            }
        } else {
            let ls: Vec<f64> = out[ad..].iter().map(|&r| squash::log_std(r)).collect();
            let eps: Vec<f64> = (0..ad).map(|_| seq::normal(&mut self.rng)).collect();
            squash::sample(&out[..ad], &ls, &eps, action);
        }
        Ok(())
    }

    /// Stores a transition.
    pub fn push(&mut self, s: &[f64], a: &[f64], r: f64, s2: &[f64], done: bool) -> Result<()> {
        self.buffer.push(s, a, r, s2, done)
    }

    /// One gradient update of critics, actor and temperature, then the Polyak target update.
    #[allow(clippy::needless_range_loop)]
    pub fn update(&mut self) -> Result<SacLosses> {
        let b = self.cfg.batch;
        let ad = self.cfg.action_dim;
        let mut batch = core::mem::take(&mut self.batch);
        self.buffer.sample(&mut self.rng, b, &mut batch)?;
        let alpha = self.alpha();

        // Soft Bellman targets with a fresh action from the current policy at s'.
        let mut cache = NetCache::default();
        let mut out = vec![0.0; b * 2 * ad];
        self.actor
            .forward(&batch.next_states, b, &mut cache, &mut out)?;
        let mut a2 = vec![0.0; b * ad];
        let mut logp2 = vec![0.0; b];
        let mut ls = vec![0.0; ad];
        let mut eps = vec![0.0; ad];
        for r in 0..b {
            let row = &out[r * 2 * ad..(r + 1) * 2 * ad];
            for j in 0..ad {
                ls[j] = squash::log_std(row[ad + j]);
                eps[j] = seq::normal(&mut self.rng);
            }
            logp2[r] = squash::sample(&row[..ad], &ls, &eps, &mut a2[r * ad..(r + 1) * ad]);
        }
        let x2 = concat_rows(&batch.next_states, &a2, b)?;
        let mut qt = [vec![0.0; b], vec![0.0; b]];
        for j in 0..2 {
            self.targets[j].forward(&x2, b, &mut cache, &mut qt[j])?;
        }
        let y: Vec<f64> = (0..b)
            .map(|r| {
                batch.rewards[r]
                    + self.cfg.gamma
                        * (1.0 - batch.dones[r])
                        * (qt[0][r].min(qt[1][r]) - alpha * logp2[r])
            })
            .collect();

        let mut lq = [0.0; 2];
        for j in 0..2 {
            let mut g = vec![0.0; self.critics[j].num_params()];
            lq[j] = critic_loss(
                &self.critics[j],
                &batch.states,
                &batch.actions,
                &y,
                Some(&mut g),
            )?;
            self.opt_critics[j].step(self.critics[j].params_mut(), &g)?;
        }

        let eps_a: Vec<f64> = (0..b * ad).map(|_| seq::normal(&mut self.rng)).collect();
        let mut ga = vec![0.0; self.actor.num_params()];
        let (la, mean_logp) = actor_loss(
            &self.actor,
            [&self.critics[0], &self.critics[1]],
            alpha,
            &batch.states,
            &eps_a,
            Some(&mut ga),
        )?;
        self.opt_actor.step(self.actor.params_mut(), &ga)?;

        let target = self.cfg.target_entropy;
        let alpha_loss = -self.log_alpha * (mean_logp + target);
        let mut la_param = [self.log_alpha];
        self.opt_alpha
            .step(&mut la_param, &[-(mean_logp + target)])?;
        self.log_alpha = la_param[0].clamp(-20.0, 5.0);

        for j in 0..2 {
            let src = self.critics[j].params().to_vec();
            polyak(self.targets[j].params_mut(), &src, self.cfg.tau)?;
        }
        self.batch = batch;
        self.updates += 1;
        self.last = SacLosses {
            critic1: lq[0],
            critic2: lq[1],
            actor: la,
            alpha_loss,
            alpha: self.alpha(),
            entropy: -mean_logp,
        };
        Ok(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(fd: f64, g: f64) -> f64 {
        (fd - g).abs() / fd.abs().max(g.abs()).max(1e-6)
    }

    fn setup() -> (Sac, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut cfg = SacConfig::new(3, 2, 9);
        cfg.hidden = 6;
        let mut sac = Sac::new(cfg).unwrap();
        // Move the actor off its small initial scale so that every term is exercised.
        let mut rng = seq::default_rng(5);
        for p in sac.actor.params_mut() {
            *p += 0.5 * seq::normal(&mut rng);
        }
        let b = 4;
        let s: Vec<f64> = (0..b * 3).map(|_| seq::normal(&mut rng)).collect();
        let a: Vec<f64> = (0..b * 2)
            .map(|_| 0.9 * (2.0 * seq::uniform(&mut rng) - 1.0))
            .collect();
        let eps: Vec<f64> = (0..b * 2).map(|_| seq::normal(&mut rng)).collect();
        (sac, s, a, eps)
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn critic_gradient_matches_finite_differences() {
        let (sac, s, a, _) = setup();
        let y = [0.3, -1.2, 0.8, 2.0];
        let q = &sac.critics[0];
        let mut g = vec![0.0; q.num_params()];
        critic_loss(q, &s, &a, &y, Some(&mut g)).unwrap();
        let h = 1e-6;
        let mut worst: f64 = 0.0;
        for i in 0..q.num_params() {
            let (mut p, mut m) = (q.clone(), q.clone());
            p.params_mut()[i] += h;
            m.params_mut()[i] -= h;
            let fd = (critic_loss(&p, &s, &a, &y, None).unwrap()
                - critic_loss(&m, &s, &a, &y, None).unwrap())
                / (2.0 * h);
            worst = worst.max(rel(fd, g[i]));
        }
        assert!(worst < 1e-4, "critic gradient relative error {worst:e}");
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn actor_gradient_matches_finite_differences() {
        let (sac, s, _, eps) = setup();
        let alpha = 0.37;
        let c = sac.critics();
        let mut g = vec![0.0; sac.actor.num_params()];
        actor_loss(&sac.actor, c, alpha, &s, &eps, Some(&mut g)).unwrap();
        let h = 1e-6;
        let mut worst: f64 = 0.0;
        for i in 0..sac.actor.num_params() {
            let (mut p, mut m) = (sac.actor.clone(), sac.actor.clone());
            p.params_mut()[i] += h;
            m.params_mut()[i] -= h;
            let fd = (actor_loss(&p, c, alpha, &s, &eps, None).unwrap().0
                - actor_loss(&m, c, alpha, &s, &eps, None).unwrap().0)
                / (2.0 * h);
            worst = worst.max(rel(fd, g[i]));
        }
        assert!(worst < 1e-4, "actor gradient relative error {worst:e}");
    }

    #[test]
    fn targets_follow_critics_by_polyak() {
        let mut cfg = SacConfig::new(1, 1, 3);
        cfg.hidden = 4;
        cfg.batch = 2;
        cfg.tau = 0.1;
        let mut sac = Sac::new(cfg).unwrap();
        assert_eq!(sac.targets[0], sac.critics[0]);
        sac.push(&[0.5], &[0.1], 1.0, &[0.2], false).unwrap();
        let before = sac.targets[1].params().to_vec();
        sac.update().unwrap();
        for ((t, q), t0) in sac.targets[1]
            .params()
            .iter()
            .zip(sac.critics[1].params())
            .zip(&before)
        {
            assert!((t - (0.1 * q + 0.9 * t0)).abs() < 1e-15);
        }
        assert_eq!(sac.updates(), 1);
    }

    /// Contextual bandit: `s ~ U(-1, 1)`, reward `-(a - 0.6 s)^2`, one-step episodes. The optimal
    /// deterministic action is `0.6 s`.
    fn bandit(seed: u64) -> f64 {
        let mut cfg = SacConfig::new(1, 1, seed);
        cfg.hidden = 32;
        cfg.batch = 32;
        cfg.lr_actor = 3e-3;
        cfg.lr_critic = 3e-3;
        cfg.lr_alpha = 3e-3;
        cfg.init_alpha = 0.1;
        let mut sac = Sac::new(cfg).unwrap();
        let mut env = seq::default_rng(seed ^ 0xbeef);
        let mut a = [0.0];
        for _ in 0..1500 {
            let s = 2.0 * seq::uniform(&mut env) - 1.0;
            sac.act(&[s], false, &mut a).unwrap();
            let r = -(a[0] - 0.6 * s) * (a[0] - 0.6 * s);
            sac.push(&[s], &a, r, &[s], true).unwrap();
            if sac.buffer().len() >= 32 {
                sac.update().unwrap();
            }
        }
        let mut worst: f64 = 0.0;
        for s in [-1.0, -0.5, 0.0, 0.5, 1.0] {
            sac.act(&[s], true, &mut a).unwrap();
            worst = worst.max((a[0] - 0.6 * s).abs());
        }
        worst
    }

    #[test]
    fn learns_contextual_bandit_optimum() {
        for seed in [1, 2, 3, 4] {
            let err = bandit(seed);
            assert!(err < 0.1, "seed {seed}: worst |a - a*| = {err}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut sac = Sac::new(SacConfig::new(2, 1, 0)).unwrap();
        let mut a = [0.0];
        assert!(sac.act(&[0.0], false, &mut a).is_err());
        assert!(sac.act(&[0.0, f64::NAN], false, &mut a).is_err());
        assert!(sac.update().is_err(), "empty buffer");
        let mut cfg = SacConfig::new(2, 1, 0);
        cfg.gamma = 1.5;
        assert!(Sac::new(cfg).is_err());
    }
}
