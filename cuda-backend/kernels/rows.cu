// Row kernels: per-row squared norms, row scaling, column sums, DP-SGD clip-and-sum.
// Column sums and clip-and-sum accumulate over rows in row order (one thread per column), exactly
// the CPU's order, so they agree bit for bit given the same row factors.

extern "C" __global__ void nk_row_sq_norms(const float* x, nk_u64 rows, nk_u64 cols, float* out) {
    __shared__ float sh[32];
    for (nk_u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * cols;
        float acc = 0.0f;
        for (nk_u64 c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = row[c];
            acc += v * v;
        }
        acc = nk_block_sum(acc, sh);
        if (threadIdx.x == 0) out[r] = acc;
    }
}

extern "C" __global__ void nk_scale_rows(float* x, nk_u64 rows, nk_u64 cols, const float* f) {
    nk_u64 n = rows * cols;
    for (nk_u64 i = nk_tid(); i < n; i += nk_stride()) x[i] *= f[i / cols];
}

extern "C" __global__ void nk_sum_rows(const float* x, nk_u64 rows, nk_u64 cols, float* out) {
    for (nk_u64 c = nk_tid(); c < cols; c += nk_stride()) {
        float acc = 0.0f;
        for (nk_u64 r = 0; r < rows; ++r) acc += x[r * cols + c];
        out[c] = acc;
    }
}

// factor[r] = min(1, clip / ||g_r||), or -1 (skip) when the norm is 0, as in CpuBackend.
extern "C" __global__ void nk_clip_factors(const float* g, nk_u64 rows, nk_u64 cols, float clip, float* factor) {
    __shared__ float sh[32];
    for (nk_u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = g + r * cols;
        float acc = 0.0f;
        for (nk_u64 c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = row[c];
            acc += v * v;
        }
        acc = nk_block_sum(acc, sh);
        if (threadIdx.x == 0) {
            float norm = sqrtf(acc);
            factor[r] = (norm == 0.0f) ? -1.0f : fminf(clip / norm, 1.0f);
        }
    }
}

extern "C" __global__ void nk_clip_sum(const float* g, nk_u64 rows, nk_u64 cols, const float* factor, float* out) {
    for (nk_u64 c = nk_tid(); c < cols; c += nk_stride()) {
        float acc = 0.0f;
        for (nk_u64 r = 0; r < rows; ++r) {
            float f = factor[r];
            if (f < 0.0f) continue;
            acc += f * g[r * cols + c];
        }
        out[c] = acc;
    }
}

// x *= beta (gemm with k = 0).
extern "C" __global__ void nk_scale(float* x, nk_u64 n, float beta) {
    for (nk_u64 i = nk_tid(); i < n; i += nk_stride()) x[i] *= beta;
}
