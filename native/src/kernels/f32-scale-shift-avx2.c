/* f32-scale-shift-avx2.c — per-channel scale and shift 8 lanes at a time (mul then add, no FMA,
 * so bit-identical to the reference), tails masked. */
#include "avx2-math.h"
#include "shape-common.h"

static void scale_shift_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_scale_shift_job* job = (const cnn_scale_shift_job*)arg;
    const int64_t n = job->inner;
    for (int64_t row = begin; row < end; row++) {
        const int64_t c = row % job->channels;
        const __m256 s = _mm256_set1_ps(job->scale != NULL ? job->scale[c] : 1.0f);
        const __m256 b = _mm256_set1_ps(job->shift != NULL ? job->shift[c] : 0.0f);
        const float* x = job->input + row * n;
        float* y = job->output + row * n;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), b));
        if (i < n) {
            const __m256i m = cnn_avx2_tail_mask(n - i);
            _mm256_maskstore_ps(y + i, m,
                                _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), s), b));
        }
    }
}

cnn_status cnn_f32_scale_shift_avx2(cnn_context* ctx, int64_t outer, int64_t channels,
                                    int64_t inner, const float* input, const float* scale,
                                    const float* shift, float* output) {
    cnn_scale_shift_job job = {channels, inner, input, scale, shift, output};
    cnn_parallel_for(ctx, outer * channels, 4 * cnn_scale_shift_grain(inner), scale_shift_task,
                     &job);
    return CNN_STATUS_SUCCESS;
}
