//! Data models of the SGD-dynamics papers: the feature-noise patch data of the benign-oscillation
//! paper and the synthetic data of the SGD-noise-regimes paper.
