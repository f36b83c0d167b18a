/*
 * f32-batchnorm-training-avx2.c — batch norm training forward: the reference driver
 * (cnn_batchnorm_training_run: same items, same per-channel double math) with vector hooks:
 * shifted sums widened to double 8 lanes at a time, and y = x * alpha + beta as mul then add
 * (bit-identical to the reference for the same alpha/beta). Only the summation order of the
 * statistics differs from the reference (double, so the difference is far below float ulp).
 */
#include "avx2-math.h"
#include "ops-common.h"

static void stats_avx2(const cnn_batchnorm_train_job* job, const float* x, int64_t n,
                       double shift, double* out2) {
    const __m256d k = _mm256_set1_pd(shift);
    __m256d s1a = _mm256_setzero_pd(), s1b = _mm256_setzero_pd();
    __m256d s2a = _mm256_setzero_pd(), s2b = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), k);
        const __m256d hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), k);
        s1a = _mm256_add_pd(s1a, lo);
        s1b = _mm256_add_pd(s1b, hi);
        s2a = _mm256_fmadd_pd(lo, lo, s2a);
        s2b = _mm256_fmadd_pd(hi, hi, s2b);
    }
    double s1 = cnn_avx2_hsum_pd(_mm256_add_pd(s1a, s1b));
    double s2 = cnn_avx2_hsum_pd(_mm256_add_pd(s2a, s2b));
    for (; i < n; i++) {
        const double d = (double)x[i] - shift;
        s1 += d;
        s2 += d * d;
    }
    out2[0] = s1;
    out2[1] = s2;
}

static void normalize_avx2(const float* x, int64_t n, float alpha, float beta, float* y) {
    const __m256 a = _mm256_set1_ps(alpha), b = _mm256_set1_ps(beta);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), a), b));
        _mm256_storeu_ps(y + i + 8,
                         _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), a), b));
    }
    for (; i < n; i += 8) {
        const __m256i m = cnn_avx2_tail_mask(n - i < 8 ? n - i : 8);
        _mm256_maskstore_ps(y + i, m,
                            _mm256_add_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, m), a), b));
    }
}

static const cnn_batchnorm_train_hooks g_avx2_hooks = {stats_avx2, normalize_avx2, NULL, NULL};

cnn_status cnn_f32_batchnorm_training_avx2(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                           const float* input, const float* weight,
                                           const float* bias, float momentum,
                                           float* running_mean, float* running_var,
                                           float* save_mean, float* save_invstd, float* output) {
    return cnn_batchnorm_training_run(ctx, p, input, weight, bias, momentum, running_mean,
                                      running_var, save_mean, save_invstd, output, &g_avx2_hooks);
}
