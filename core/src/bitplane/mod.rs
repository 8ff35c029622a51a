//! LOTA: bit-plane noise features of 8-bit images and a light classifier head.
