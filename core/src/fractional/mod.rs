//! Fractional noise: exact fBM (Cholesky, Davies-Harte), Markov-approximate fBM, SDE solvers driven
//! by it, Hurst estimation.
