//! Privacy accounting: RDP of the (Poisson-)subsampled Gaussian mechanism and conversions to
//! (epsilon, delta). No allocation needed.
