/*
 * f32-softmax-backward-avx2.c — softmax / log-softmax gradient. Contiguous rows (inner == 1):
 * the row sum (g*y, or g) is widened to double 8 lanes at a time, then
 * dx = y * (g - s) (the reference's operations, bit-identical for the same s) or
 * dx = g - exp(y) * s (vector exp, within 2 ulp of expf). inner > 1 uses the reference kernel.
 */
#include "avx2-math.h"
#include "ops-common.h"

typedef struct {
    int64_t classes;
    int32_t log_softmax, accumulate;
    const float *y, *g;
    float* gi;
} softmax_backward_job;

static void rows_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const softmax_backward_job* job = (const softmax_backward_job*)arg;
    const int64_t n = job->classes;
    for (int64_t row = begin; row < end; row++) {
        const float* y = job->y + row * n;
        const float* g = job->g + row * n;
        float* gi = job->gi + row * n;
        __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(g + i);
            if (!job->log_softmax) v = _mm256_mul_ps(v, _mm256_loadu_ps(y + i));
            a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        const __m256d a = _mm256_add_pd(a0, a1);
        double acc = cnn_avx2_hsum_pd(a);
        for (; i < n; i++) acc += job->log_softmax ? (double)g[i] : (double)g[i] * y[i];
        const __m256 s = _mm256_set1_ps((float)acc);
        for (i = 0; i < n; i += 8) {
            const __m256i m = cnn_avx2_tail_mask(n - i < 8 ? n - i : 8);
            const __m256 yv = _mm256_maskload_ps(y + i, m), gv = _mm256_maskload_ps(g + i, m);
            __m256 v = job->log_softmax ? _mm256_sub_ps(gv, _mm256_mul_ps(cnn_avx2_exp_ps(yv), s))
                                        : _mm256_mul_ps(yv, _mm256_sub_ps(gv, s));
            if (job->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(gi + i, m), v);
            _mm256_maskstore_ps(gi + i, m, v);
        }
    }
}

cnn_status cnn_f32_softmax_backward_avx2(cnn_context* ctx, int32_t outer, int32_t classes,
                                         int32_t inner, int32_t log_softmax, const float* output,
                                         const float* grad_output, int32_t accumulate,
                                         float* grad_input) {
    if (inner != 1)
        return cnn_f32_softmax_backward_scalar(ctx, outer, classes, inner, log_softmax, output,
                                               grad_output, accumulate, grad_input);
    softmax_backward_job job = {classes, log_softmax, accumulate, output, grad_output,
                                grad_input};
    const int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / classes;
    cnn_parallel_for(ctx, outer, grain > 1 ? grain : 1, rows_task, &job);
    return CNN_STATUS_SUCCESS;
}
