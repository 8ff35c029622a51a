//! Scores, denoising and diffusion noise: forward noising, denoising score matching, Tweedie
//! denoisers (Noise2Score), ambient diffusion, golden noise.
