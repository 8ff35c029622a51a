//! RLDP's learned controller (Khadangi et al. 2025, arXiv 2507.22565): a soft actor-critic
//! hyper-policy (Haarnoja et al. 2018, arXiv 1801.01290) that implements [`super::Policy`] for
//! [`super::RlHook`] and trains online from the RLDP reward.
//!
//! | item | what |
//! |---|---|
//! | [`Net`], [`polyak`] | small `tanh` MLP in `f64` with hand-written backward; target averaging |
//! | [`Adam`] | Adam on `f64` slices |
//! | [`ReplayBuffer`] | fixed-capacity ring of transitions |
//! | [`squash`] | tanh-squashed Gaussian: sample, log-prob with the tanh correction, backward |
//! | [`Sac`], [`SacConfig`] | twin-Q SAC with target critics and automatic temperature |
//! | [`SacPolicy`] | the RLDP hyper-policy: features -> action, reward, online updates |

pub mod adam;
pub mod agent;
pub mod net;
pub mod policy;
pub mod replay;
pub mod squash;

pub use adam::Adam;
pub use agent::{actor_loss, critic_loss, Sac, SacConfig, SacLosses};
pub use net::{polyak, Net, NetCache};
pub use policy::{rldp_reward, SacPolicy, SacPolicyConfig};
pub use replay::{Batch, ReplayBuffer, Transition};
