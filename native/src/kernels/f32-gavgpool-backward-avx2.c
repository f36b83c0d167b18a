/* f32-gavgpool-backward-avx2.c — global average pooling gradient: broadcast of
 * grad_output[plane] / plane_size (same division as the reference), 8 lanes at a time. */
#include "avx2-math.h"
#include "ops-common.h"

static void gavgpool_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_backward_job* job = (const cnn_backward_job*)arg;
    const int64_t n = job->plane_size;
    for (int64_t plane = begin; plane < end; plane++) {
        const __m256 d = _mm256_set1_ps(job->grad[plane] / (float)n);
        float* gi = job->grad_input + plane * n;
        int64_t i = 0;
        if (job->accumulate)
            for (; i + 8 <= n; i += 8)
                _mm256_storeu_ps(gi + i, _mm256_add_ps(_mm256_loadu_ps(gi + i), d));
        else
            for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gi + i, d);
        if (i < n) {
            const __m256i m = cnn_avx2_tail_mask(n - i);
            _mm256_maskstore_ps(gi + i, m,
                                job->accumulate ? _mm256_add_ps(_mm256_maskload_ps(gi + i, m), d)
                                                : d);
        }
    }
}

cnn_status cnn_f32_gavgpool_backward_avx2(cnn_context* ctx, int64_t planes, int64_t plane_size,
                                          const float* grad_output, int32_t accumulate,
                                          float* grad_input) {
    cnn_backward_job job = {NULL, grad_output, grad_input, plane_size, CNN_ACTIVATION_NONE,
                            accumulate};
    const int64_t grain = 16 * CNN_PARALLEL_GRAIN_WORK / plane_size;
    cnn_parallel_for(ctx, planes, grain > 1 ? grain : 1, gavgpool_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
