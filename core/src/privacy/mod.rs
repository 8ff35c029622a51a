//! DP-SGD: per-sample clipping, Gaussian noise, Poisson sampling, the privacy engine and the
//! clipping/noise controllers (fixed, adaptive quantile, RLDP).
