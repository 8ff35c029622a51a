// noisekit CUDA prelude: integer types, launch helpers and the Philox4x32-10 + Box-Muller noise of
// core/src/rng/{philox,bulk}.rs, transcribed word for word. Prepended to every kernel module.
// Compiled with --fmad=false --ftz=false --prec-div=true --prec-sqrt=true so that every + - * / sqrt
// rounds exactly like the Rust reference (no contraction into FMA).
typedef unsigned int nk_u32;
typedef unsigned long long nk_u64;

#define NK_M0 0xD2511F53u
#define NK_M1 0xCD9E8D57u
#define NK_W0 0x9E3779B9u
#define NK_W1 0xBB67AE85u
// core::f32::consts::TAU rounded to f32 (6.2831855).
#define NK_TWO_PI 6.28318530717958647692f

// Global thread index and grid stride for 1-D grid-stride loops.
__device__ __forceinline__ nk_u64 nk_tid() {
    return (nk_u64)blockIdx.x * (nk_u64)blockDim.x + (nk_u64)threadIdx.x;
}
__device__ __forceinline__ nk_u64 nk_stride() {
    return (nk_u64)gridDim.x * (nk_u64)blockDim.x;
}

// Philox4x32-10: counter (block_lo, block_hi, stream, 0), key (seed_lo, seed_hi).
__device__ __forceinline__ void nk_philox(nk_u64 block, nk_u32 stream, nk_u64 seed, nk_u32 w[4]) {
    nk_u32 x0 = (nk_u32)block, x1 = (nk_u32)(block >> 32), x2 = stream, x3 = 0u;
    nk_u32 k0 = (nk_u32)seed, k1 = (nk_u32)(seed >> 32);
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        nk_u32 hi0 = __umulhi(NK_M0, x0), lo0 = NK_M0 * x0;
        nk_u32 hi1 = __umulhi(NK_M1, x2), lo1 = NK_M1 * x2;
        nk_u32 n0 = hi1 ^ x1 ^ k0;
        nk_u32 n2 = hi0 ^ x3 ^ k1;
        x0 = n0; x1 = lo1; x2 = n2; x3 = lo0;
        k0 += NK_W0; k1 += NK_W1;
    }
    w[0] = x0; w[1] = x1; w[2] = x2; w[3] = x3;
}

// u = ((w >> 8) + 1) 2^-24 in (0, 1]; exact in f32.
__device__ __forceinline__ float nk_unit(nk_u32 w) {
    return (float)((w >> 8) + 1u) * (1.0f / 16777216.0f);
}

// The four standard normals of block `offset + q` (pairs (w0,w1), (w2,w3)).
__device__ __forceinline__ void nk_normal4(nk_u64 seed, nk_u32 stream, nk_u64 offset, nk_u64 q, float z[4]) {
    nk_u32 w[4];
    nk_philox(offset + q, stream, seed, w);
#pragma unroll
    for (int p = 0; p < 2; ++p) {
        float r = sqrtf(-2.0f * logf(nk_unit(w[2 * p])));
        float s, c;
        sincosf(NK_TWO_PI * nk_unit(w[2 * p + 1]), &s, &c);
        z[2 * p] = r * c;
        z[2 * p + 1] = r * s;
    }
}

// Block-wide sum of one float per thread (blockDim.x a power of two, <= 1024); result in thread 0.
__device__ __forceinline__ float nk_block_sum(float v, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    int nw = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < nw) ? shared[threadIdx.x] : 0.0f;
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    }
    __syncthreads();
    return v;
}
