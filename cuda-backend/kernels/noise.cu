// Philox noise fills: element i reads block offset + i / 4, lane i % 4 (core/src/rng/bulk.rs).
// One thread per block of four elements (one Philox call, two Box-Muller pairs).

extern "C" __global__ void nk_philox_words(nk_u32* out, nk_u64 n, nk_u64 seed, nk_u32 stream, nk_u64 offset) {
    nk_u64 quads = (n + 3) / 4;
    for (nk_u64 q = nk_tid(); q < quads; q += nk_stride()) {
        nk_u32 w[4];
        nk_philox(offset + q, stream, seed, w);
        for (int l = 0; l < 4; ++l) {
            nk_u64 i = 4 * q + l;
            if (i < n) out[i] = w[l];
        }
    }
}

extern "C" __global__ void nk_fill_uniform(float* out, nk_u64 n, nk_u64 seed, nk_u32 stream, nk_u64 offset) {
    nk_u64 quads = (n + 3) / 4;
    for (nk_u64 q = nk_tid(); q < quads; q += nk_stride()) {
        nk_u32 w[4];
        nk_philox(offset + q, stream, seed, w);
        for (int l = 0; l < 4; ++l) {
            nk_u64 i = 4 * q + l;
            if (i < n) out[i] = nk_unit(w[l]);
        }
    }
}

extern "C" __global__ void nk_fill_normal(float* out, nk_u64 n, nk_u64 seed, nk_u32 stream, nk_u64 offset) {
    nk_u64 quads = (n + 3) / 4;
    for (nk_u64 q = nk_tid(); q < quads; q += nk_stride()) {
        float z[4];
        nk_normal4(seed, stream, offset, q, z);
        for (int l = 0; l < 4; ++l) {
            nk_u64 i = 4 * q + l;
            if (i < n) out[i] = z[l];
        }
    }
}

extern "C" __global__ void nk_add_normal(float* x, nk_u64 n, nk_u64 seed, nk_u32 stream, nk_u64 offset, float sigma) {
    nk_u64 quads = (n + 3) / 4;
    for (nk_u64 q = nk_tid(); q < quads; q += nk_stride()) {
        float z[4];
        nk_normal4(seed, stream, offset, q, z);
        for (int l = 0; l < 4; ++l) {
            nk_u64 i = 4 * q + l;
            if (i < n) x[i] += sigma * z[l];
        }
    }
}
