/* f32-sum-squares-avx2.c — sum of squares: floats widened to double, four 4-lane double
 * accumulators (16 floats per step) per block, combined in a fixed order; blocks and their
 * ordered combination come from cnn_sum_squares_run (f32-sum-squares-scalar.c). */
#include "train-avx2.h"

CNN_AVX2_INLINE void accumulate8(__m256 v, __m256d* lo, __m256d* hi) {
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    *lo = _mm256_fmadd_pd(a, a, *lo);
    *hi = _mm256_fmadd_pd(b, b, *hi);
}

static double block_sum_avx2(const float* x, int64_t n) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    __m256d acc2 = _mm256_setzero_pd(), acc3 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        accumulate8(_mm256_loadu_ps(x + i), &acc0, &acc1);
        accumulate8(_mm256_loadu_ps(x + i + 8), &acc2, &acc3);
    }
    for (; i < n; i += 8) /* masked lanes load as 0 and add nothing */
        accumulate8(_mm256_maskload_ps(x + i, cnn_avx2_tail_mask(n - i)), &acc0, &acc1);
    const __m256d acc = _mm256_add_pd(_mm256_add_pd(acc0, acc2), _mm256_add_pd(acc1, acc3));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

cnn_status cnn_f32_sum_squares_avx2(cnn_context* ctx, int64_t count, const float* x,
                                    double* out_sum) {
    return cnn_sum_squares_run(ctx, count, x, block_sum_avx2, out_sum);
}
