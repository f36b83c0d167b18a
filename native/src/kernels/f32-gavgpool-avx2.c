/* f32-gavgpool-avx2.c — global average pooling: each plane summed 8 floats at a time into
 * double accumulators (4 independent chains), tail masked, then divided like the reference. */
#include "avx2-math.h"
#include "ops-common.h"

/* acc += the 8 floats of v, widened to double. */
static inline __m256d add_widened(__m256d acc_lo, __m256 v, __m256d* acc_hi) {
    *acc_hi = _mm256_add_pd(*acc_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    return _mm256_add_pd(acc_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
}

static void gavgpool_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_gavgpool_job* job = (const cnn_gavgpool_job*)arg;
    const int64_t n = job->plane_size;
    for (int64_t plane = begin; plane < end; plane++) {
        const float* in = job->input + plane * n;
        __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
        __m256d a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) {
            a0 = add_widened(a0, _mm256_loadu_ps(in + i), &a1);
            a2 = add_widened(a2, _mm256_loadu_ps(in + i + 8), &a3);
        }
        for (; i < n; i += 8)
            a0 = add_widened(a0, _mm256_maskload_ps(in + i, cnn_avx2_tail_mask(n - i)), &a1);
        const __m256d s = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
        const double sum = cnn_avx2_hsum_pd(s);
        job->output[plane] = (float)(sum / (double)n);
    }
}

cnn_status cnn_f32_gavgpool_avx2(cnn_context* ctx, int64_t planes, int64_t plane_size,
                                 const float* input, float* output) {
    cnn_gavgpool_job job = {plane_size, input, output};
    const int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / plane_size;
    cnn_parallel_for(ctx, planes, grain > 1 ? grain : 1, gavgpool_task, &job);
    return CNN_STATUS_SUCCESS;
}
