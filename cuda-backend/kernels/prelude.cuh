// noisekit CUDA prelude: integer types, launch helpers and the Philox4x32-10 + Box-Muller noise of
// core/src/rng/{philox,bulk,fastmath}.rs, transcribed operation for operation. Prepended to every kernel module.
// Compiled with --fmad=false --ftz=false --prec-div=true --prec-sqrt=true so that every + - * / sqrt
// rounds exactly like the Rust reference (no contraction into FMA).
typedef unsigned int nk_u32;
typedef unsigned long long nk_u64;

#define NK_M0 0xD2511F53u
#define NK_M1 0xCD9E8D57u
#define NK_W0 0x9E3779B9u
#define NK_W1 0xBB67AE85u

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

// core/src/rng/fastmath.rs, operation for operation (Cephes logf / sinf / cosf polynomials). The
// constants are the Rust f32 literals written as exact hex floats; with --fmad=false every + - *
// rounds as in Rust, so these return the CPU's bits.
#define NK_LN_P0 0x1.2043760000000p-4f  /* 7.037_683_6e-2 */
#define NK_LN_P1 0x1.d7a3720000000p-4f  /* 1.151_461_1e-1 */
#define NK_LN_P2 0x1.de4a360000000p-4f  /* 1.167_699_9e-1 */
#define NK_LN_P3 0x1.fcba9e0000000p-4f  /* 1.242_014_1e-1 */
#define NK_LN_P4 0x1.23d37e0000000p-3f  /* 1.424_932_3e-1 */
#define NK_LN_P5 0x1.555ca00000000p-3f  /* 1.666_805_8e-1 */
#define NK_LN_P6 0x1.999d580000000p-3f  /* 2.000_071_4e-1 */
#define NK_LN_P7 0x1.fffff80000000p-3f  /* 2.499_999_4e-1 */
#define NK_LN_P8 0x1.5555540000000p-2f  /* 3.333_333e-1 */
#define NK_LN_Q1 0x1.bd01060000000p-13f /* 2.121_944_4e-4 */
#define NK_LN_Q2 0x1.6300000000000p-1f  /* 0.693_359_4 */
#define NK_SIN_C1 0x1.9943f20000000p-13f /* 1.951_529_6e-4 */
#define NK_SIN_C2 0x1.11073c0000000p-7f  /* 8.332_161e-3 */
#define NK_SIN_C3 0x1.5555460000000p-3f  /* 1.666_665_5e-1 */
#define NK_COS_C1 0x1.99eb9c0000000p-16f /* 2.443_315_7e-5 */
#define NK_COS_C2 0x1.6c0c340000000p-10f /* 1.388_731_6e-3 */
#define NK_COS_C3 0x1.55554a0000000p-5f  /* 4.166_664_6e-2 */
#define NK_SQRT_HALF 0x1.6a09e60000000p-1f /* FRAC_1_SQRT_2 */
#define NK_TAU 0x1.921fb60000000p+2f       /* TAU */

// fastmath::ln for a positive normal float.
__device__ __forceinline__ float nk_ln(float xin) {
    nk_u32 bits = __float_as_uint(xin);
    int e = (int)((bits >> 23) & 0xffu) - 126;
    float m = __uint_as_float((bits & 0x007fffffu) | 0x3f000000u);
    bool small = m < NK_SQRT_HALF;
    float ef = (float)(small ? e - 1 : e);
    float x = small ? (m + m) - 1.0f : m - 1.0f;
    float z = x * x;
    float p = NK_LN_P0;
    p = p * x - NK_LN_P1;
    p = p * x + NK_LN_P2;
    p = p * x - NK_LN_P3;
    p = p * x + NK_LN_P4;
    p = p * x - NK_LN_P5;
    p = p * x + NK_LN_P6;
    p = p * x - NK_LN_P7;
    p = p * x + NK_LN_P8;
    float y = (x * z) * p;
    y = y + (-NK_LN_Q1) * ef;
    y = y + (-0.5f) * z;
    float r = x + y;
    return r + NK_LN_Q2 * ef;
}

// fastmath::sincos_turns: (sin(2 pi u), cos(2 pi u)) for u in [0, 1] with 24 significant bits.
__device__ __forceinline__ void nk_sincos_turns(float u, float* sin_out, float* cos_out) {
    int q = (int)(u * 4.0f + 0.5f);
    float r = (u - (float)q * 0.25f) * NK_TAU;
    float z = r * r;
    float s = ((((-NK_SIN_C1) * z + NK_SIN_C2) * z - NK_SIN_C3) * z) * r + r;
    float c = (((((NK_COS_C1 * z - NK_COS_C2) * z + NK_COS_C3) * z) * z) - 0.5f * z) + 1.0f;
    bool odd = (q & 1) != 0;
    float sn = odd ? c : s;
    float cs = odd ? s : c;
    sn = (q & 2) ? -sn : sn;
    cs = ((q + 1) & 2) ? -cs : cs;
    *sin_out = sn;
    *cos_out = cs;
}

// bulk::box_muller_f32: r = sqrt(-2 ln u_r) (correctly rounded), (r cos, r sin) of 2 pi u_a.
__device__ __forceinline__ void nk_box_muller(float ur, float ua, float* z0, float* z1) {
    float r = sqrtf(-2.0f * nk_ln(ur));
    float s, c;
    nk_sincos_turns(ua, &s, &c);
    *z0 = r * c;
    *z1 = r * s;
}

// The four standard normals of block `offset + q` (pairs (w0,w1), (w2,w3)).
__device__ __forceinline__ void nk_normal4(nk_u64 seed, nk_u32 stream, nk_u64 offset, nk_u64 q, float z[4]) {
    nk_u32 w[4];
    nk_philox(offset + q, stream, seed, w);
    nk_box_muller(nk_unit(w[0]), nk_unit(w[1]), &z[0], &z[1]);
    nk_box_muller(nk_unit(w[2]), nk_unit(w[3]), &z[2], &z[3]);
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
