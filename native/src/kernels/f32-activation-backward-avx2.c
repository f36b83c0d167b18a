/* f32-activation-backward-avx2.c — activation gradients 8 lanes at a time, the same operations
 * in the same order as the reference (so bit-identical to it), tails masked. */
#include "avx2-math.h"
#include "ops-common.h"

static inline __m256 act_bwd(cnn_activation a, __m256 y, __m256 g) {
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (a) {
        case CNN_ACTIVATION_RELU: /* y <= 0 ? 0 : g  (NaN y keeps g) */
            return _mm256_andnot_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LE_OQ), g);
        case CNN_ACTIVATION_SIGMOID:
            return _mm256_mul_ps(_mm256_mul_ps(g, _mm256_sub_ps(one, y)), y);
        case CNN_ACTIVATION_TANH: return _mm256_mul_ps(g, _mm256_sub_ps(one, _mm256_mul_ps(y, y)));
        case CNN_ACTIVATION_RELU6: /* y <= 0 || y >= 6 ? 0 : g  (NaN y keeps g) */
            return _mm256_andnot_ps(
                _mm256_or_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LE_OQ),
                             _mm256_cmp_ps(y, _mm256_set1_ps(6.0f), _CMP_GE_OQ)),
                g);
        default: return g;
    }
}

static void activation_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_backward_job* job = (const cnn_backward_job*)arg;
    const float* y = job->y;
    const float* g = job->grad;
    float* gi = job->grad_input;
    const cnn_activation a = job->activation;
    int64_t i = begin;
    if (job->accumulate) {
        for (; i + 8 <= end; i += 8)
            _mm256_storeu_ps(gi + i, _mm256_add_ps(_mm256_loadu_ps(gi + i),
                                                   act_bwd(a, _mm256_loadu_ps(y + i),
                                                           _mm256_loadu_ps(g + i))));
    } else {
        for (; i + 8 <= end; i += 8)
            _mm256_storeu_ps(gi + i, act_bwd(a, _mm256_loadu_ps(y + i), _mm256_loadu_ps(g + i)));
    }
    if (i < end) {
        const __m256i m = cnn_avx2_tail_mask(end - i);
        __m256 v = act_bwd(a, _mm256_maskload_ps(y + i, m), _mm256_maskload_ps(g + i, m));
        if (job->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(gi + i, m), v);
        _mm256_maskstore_ps(gi + i, m, v);
    }
}

cnn_status cnn_f32_activation_backward_avx2(cnn_context* ctx, cnn_activation activation,
                                            int64_t count, const float* output,
                                            const float* grad_output, int32_t accumulate,
                                            float* grad_input) {
    cnn_backward_job job = {output, grad_output, grad_input, 0, activation, accumulate};
    cnn_parallel_for(ctx, count, 16 * CNN_PARALLEL_GRAIN_WORK, activation_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
