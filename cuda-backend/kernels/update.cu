// Fused update rules: a transcription of core/src/backend/update_rule.rs `apply_update`, one
// thread per block of four elements so that in-pass noise costs one Philox call per four
// parameters (element i adds sigma * z_i, z_i from block offset + i / 4, lane i % 4).
// Host-side constants (bias corrections, decay) are computed in Rust exactly as the CPU does.

#define NK_UPDATE_LOOP(BODY)                                                          \
    nk_u64 quads = (n + 3) / 4;                                                       \
    for (nk_u64 q = nk_tid(); q < quads; q += nk_stride()) {                          \
        float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};                                        \
        if (has_noise) nk_normal4(seed, stream, offset, q, z);                        \
        for (int l = 0; l < 4; ++l) {                                                 \
            nk_u64 i = 4 * q + l;                                                     \
            if (i >= n) break;                                                        \
            float g = grads[i];                                                       \
            if (has_noise) g = g + sigma * z[l];                                      \
            BODY                                                                      \
        }                                                                             \
    }

// SGD without momentum: g += wd p; p -= lr g.
extern "C" __global__ void nk_sgd_plain(float* params, const float* grads, nk_u64 n,
        float lr, float weight_decay,
        int has_noise, nk_u64 seed, nk_u32 stream, nk_u64 offset, float sigma) {
    NK_UPDATE_LOOP({
        float p = params[i];
        g = g + weight_decay * p;
        params[i] = p - lr * g;
    })
}

// SGD with momentum (torch.optim.SGD), state [buf].
extern "C" __global__ void nk_sgd_momentum(float* params, const float* grads, float* buf, nk_u64 n,
        float lr, float momentum, float dampening, float weight_decay, int nesterov, int first,
        int has_noise, nk_u64 seed, nk_u32 stream, nk_u64 offset, float sigma) {
    NK_UPDATE_LOOP({
        float p = params[i];
        g = g + weight_decay * p;
        float b = first ? g : momentum * buf[i] + (1.0f - dampening) * g;
        buf[i] = b;
        float d = nesterov ? g + momentum * b : b;
        params[i] = p - lr * d;
    })
}

// AdamW (torch.optim.AdamW), state [m, v]; decay = 1 - lr wd, step_size = lr / (1 - b1^t),
// bc2_sqrt = sqrt(1 - b2^t) come from the host.
extern "C" __global__ void nk_adamw(float* params, const float* grads, float* m, float* v, nk_u64 n,
        float beta1, float beta2, float eps, float decay, float step_size, float bc2_sqrt,
        int has_noise, nk_u64 seed, nk_u32 stream, nk_u64 offset, float sigma) {
    NK_UPDATE_LOOP({
        float mi = m[i] + (1.0f - beta1) * (g - m[i]);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = params[i] * decay - step_size * (mi / denom);
    })
}

// SGD-SaI, state [buf]; decay = 1 - lr wd and scale = lr gsnr come from the host.
extern "C" __global__ void nk_sgd_sai(float* params, const float* grads, float* buf, nk_u64 n,
        float momentum, float decay, float scale, int first,
        int has_noise, nk_u64 seed, nk_u32 stream, nk_u64 offset, float sigma) {
    NK_UPDATE_LOOP({
        float b = first ? g : momentum * buf[i] + (1.0f - momentum) * g;
        buf[i] = b;
        params[i] = params[i] * decay - scale * b;
    })
}
