//! Update rules on slices and through the Backend: SGD(M), AdamW, SGD-SaI, annealed gradient noise,
//! parameter groups.
