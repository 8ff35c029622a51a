//! In-context learning of linear regression: task samplers, GD/ridge/OLS predictors, one-layer
//! linear self-attention.
