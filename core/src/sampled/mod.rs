//! Sampled and mixed gradient estimators: WTA-CRS, BVPO, compositional optimisation (SCO) and NCE,
//! target-based surrogates (SSO).
