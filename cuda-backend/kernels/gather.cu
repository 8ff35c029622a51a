// Gather / scatter for column and row sampling (CRS, WTA-CRS). Indices are checked on the host.
// scatter_add_rows runs one thread per column and walks idx in order, so repeated indices add in
// the CPU's order (deterministic, bit-equal) without atomics.

extern "C" __global__ void nk_gather_cols(const float* x, nk_u64 rows, nk_u64 cols, const nk_u32* idx,
        const float* scale, nk_u64 k, float* out) {
    nk_u64 n = rows * k;
    for (nk_u64 e = nk_tid(); e < n; e += nk_stride()) {
        nk_u64 r = e / k, j = e % k;
        out[e] = x[r * cols + idx[j]] * scale[j];
    }
}

extern "C" __global__ void nk_gather_rows(const float* x, nk_u64 cols, const nk_u32* idx,
        const float* scale, nk_u64 k, float* out) {
    nk_u64 n = k * cols;
    for (nk_u64 e = nk_tid(); e < n; e += nk_stride()) {
        nk_u64 j = e / cols, c = e % cols;
        out[e] = x[(nk_u64)idx[j] * cols + c] * scale[j];
    }
}

extern "C" __global__ void nk_scatter_add_rows(const float* src, nk_u64 cols, const nk_u32* idx,
        nk_u64 k, float* dst) {
    for (nk_u64 c = nk_tid(); c < cols; c += nk_stride()) {
        for (nk_u64 j = 0; j < k; ++j) dst[(nk_u64)idx[j] * cols + c] += src[j * cols + c];
    }
}
