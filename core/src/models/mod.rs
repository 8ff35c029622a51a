//! Small models with hand-written forward and backward passes for the reproductions.
