/*
 * f32-batchnorm-inference.h — batch norm inference written once in the pv_* primitives (include
 * f32-pool-vec-avx2.h or f32-pool-vec-avx512.h and avx2-math.h first; defines the kernel
 * function named by CNN_BATCHNORM_KERNEL).
 *
 * Per-channel alpha/beta are precomputed once into the context scratch (same formula as the
 * reference), then y = x * alpha + beta over each HW segment a vector at a time (mul then add
 * like the reference, so results match it bit for bit before the activation; the tail under a
 * mask), and the activation (AVX2 code) applied in place while the segment is in L1.
 * Chunks hold at least CNN_BATCHNORM_GRAIN_ELEMENTS (64K) elements: the op streams memory. A
 * [1, 64, 56, 56] tensor once ran slower on 2 threads than on 1 with this grain (so it was 256K,
 * one thread), but that was the pool's worker sharing the caller's CPU (threadpool.c,
 * worker_leave_caller_cpu): now 2 threads take 7.7 us against 15.5 us on 1 (bench_pool.c).
 */
#include "ops-common.h"

typedef struct {
    cnn_batchnorm_split split;
    int64_t channels;
    const float* alpha;
    const float* beta;
    const float* input;
    float* output;
    cnn_activation activation;
} batchnorm_job;

static void batchnorm_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const batchnorm_job* job = (const batchnorm_job*)arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, n;
        cnn_batchnorm_item(&job->split, job->channels, item, &c, &first, &n);
        const pv_f32 alpha = pv_set1(job->alpha[c]);
        const pv_f32 beta = pv_set1(job->beta[c]);
        const float* in = job->input + first;
        float* out = job->output + first;
        int64_t i = 0;
        for (; i + 2 * PV_LANES <= n; i += 2 * PV_LANES) {
            const pv_f32 x0 = pv_load(in + i), x1 = pv_load(in + i + PV_LANES);
            pv_store(out + i, pv_add(pv_mul(x0, alpha), beta));
            pv_store(out + i + PV_LANES, pv_add(pv_mul(x1, alpha), beta));
        }
        for (; i < n; i += PV_LANES) {
            const pv_f32 x = pv_load_first(in + i, n - i);
            pv_store_first(out + i, pv_add(pv_mul(x, alpha), beta), n - i);
        }
        cnn_avx2_activation_span(job->activation, out, out, n);
    }
}

cnn_status CNN_BATCHNORM_KERNEL(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                const float* input, const float* mean, const float* var,
                                const float* weight, const float* bias, cnn_activation activation,
                                float* output) {
    float* affine = (float*)cnn_context_scratch(ctx, 2 * (size_t)p->channels * sizeof(float));
    if (affine == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    for (int64_t c = 0; c < p->channels; c++)
        cnn_batchnorm_channel_affine(p, mean, var, weight, bias, c, &affine[c],
                                     &affine[p->channels + c]);
    int64_t grain;
    batchnorm_job job = {cnn_batchnorm_split_of(p, CNN_BATCHNORM_GRAIN_ELEMENTS, &grain),
                         p->channels,
                         affine,
                         affine + p->channels,
                         input,
                         output,
                         activation};
    cnn_parallel_for(ctx, job.split.items, grain, batchnorm_task, &job);
    return CNN_STATUS_SUCCESS;
}
