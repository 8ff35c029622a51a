//! Label noise and robust recovery: label-noise samplers, ELR, NMTune, sub-gradient matrix recovery.
