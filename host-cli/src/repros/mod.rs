//! The registry of reproductions: one place lists them all, in spec order.

use crate::framework::Repro;

pub mod ambient_scaling;
pub mod benign_oscillation;
pub mod bvpo;
pub mod compositional;
pub mod dp_accounting;
pub mod elr;
pub mod fbm_sde;
pub mod fedsvd;
pub mod golden_noise;
pub mod gradient_noise;
pub mod icl_algorithms;
pub mod icl_one_step_gd;
pub mod lota;
pub mod nmtune;
pub mod noise2score;
pub mod rldp;
pub mod sampler_stats;
pub mod score_estimation;
pub mod sgd_noise_phase;
pub mod sgd_noise_regimes;
pub mod sgd_sai;
pub mod sso;
pub mod subgm;
pub mod wta_crs;

/// Every reproduction, in spec order (the framework example `sampler-stats` first).
pub fn all() -> Vec<&'static dyn Repro> {
    vec![
        &sampler_stats::SamplerStats,
        &icl_one_step_gd::IclOneStepGd,
        &bvpo::Bvpo,
        &gradient_noise::GradientNoise,
        &sgd_noise_regimes::SgdNoiseRegimes,
        &elr::Elr,
        &benign_oscillation::BenignOscillation,
        &score_estimation::ScoreEstimation,
        &fbm_sde::FbmSde,
        &wta_crs::WtaCrs,
        &noise2score::Noise2score,
        &rldp::Rldp,
        &icl_algorithms::IclAlgorithms,
        &sgd_sai::SgdSai,
        &fedsvd::Fedsvd,
        &nmtune::Nmtune,
        &compositional::Compositional,
        &ambient_scaling::AmbientScaling,
        &golden_noise::GoldenNoise,
        &subgm::Subgm,
        &lota::Lota,
        &sso::Sso,
        &dp_accounting::DpAccounting,
    ]
}

/// The repro called `name`.
pub fn find(name: &str) -> Option<&'static dyn Repro> {
    all().into_iter().find(|r| r.name() == name)
}
