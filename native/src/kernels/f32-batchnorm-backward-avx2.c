/*
 * f32-batchnorm-backward-avx2.c — batch norm gradient: the reference driver
 * (cnn_batchnorm_backward_run) with vector hooks: sum(dy) and sum(dy * (x - mean)) widened to
 * double 8 lanes at a time, and dx with the reference's float operations in the same order
 * (bit-identical to it for the same per-channel constants).
 */
#include "avx2-math.h"
#include "ops-common.h"

static void grad_stats_avx2(const float* x, const float* dy, int64_t n, float mean,
                            double* out2) {
    const __m256d mu = _mm256_set1_pd((double)mean);
    __m256d sa = _mm256_setzero_pd(), sb = _mm256_setzero_pd();
    __m256d da = _mm256_setzero_pd(), db = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(dy + i), v = _mm256_loadu_ps(x + i);
        const __m256d glo = _mm256_cvtps_pd(_mm256_castps256_ps128(g));
        const __m256d ghi = _mm256_cvtps_pd(_mm256_extractf128_ps(g, 1));
        const __m256d xlo = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), mu);
        const __m256d xhi = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), mu);
        sa = _mm256_add_pd(sa, glo);
        sb = _mm256_add_pd(sb, ghi);
        da = _mm256_fmadd_pd(glo, xlo, da);
        db = _mm256_fmadd_pd(ghi, xhi, db);
    }
    double s = cnn_avx2_hsum_pd(_mm256_add_pd(sa, sb));
    double d = cnn_avx2_hsum_pd(_mm256_add_pd(da, db));
    for (; i < n; i++) {
        s += dy[i];
        d += (double)dy[i] * ((double)x[i] - (double)mean);
    }
    out2[0] = s;
    out2[1] = d;
}

static inline __m256 dx_block(const cnn_batchnorm_train_job* job, __m256 x, __m256 g,
                              __m256 mean, __m256 k, __m256 gm, __m256 invstd, __m256 w) {
    if (job->batch_statistics)
        g = _mm256_sub_ps(_mm256_sub_ps(g, gm), _mm256_mul_ps(_mm256_sub_ps(x, mean), k));
    return _mm256_mul_ps(_mm256_mul_ps(g, invstd), w);
}

static void grad_input_avx2(const cnn_batchnorm_train_job* job, const float* x, const float* dy,
                            int64_t n, int64_t c, float* dx) {
    const __m256 invstd = _mm256_set1_ps(job->scale_a[c]), w = _mm256_set1_ps(job->scale_b[c]);
    const __m256 mean = _mm256_set1_ps(job->batch_statistics ? job->mean[c] : 0.0f);
    const __m256 k = _mm256_set1_ps(job->batch_statistics ? job->k[c] : 0.0f);
    const __m256 gm = _mm256_set1_ps(job->batch_statistics ? job->grad_mean[c] : 0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = dx_block(job, _mm256_loadu_ps(x + i), _mm256_loadu_ps(dy + i), mean, k, gm,
                            invstd, w);
        if (job->accumulate) v = _mm256_add_ps(_mm256_loadu_ps(dx + i), v);
        _mm256_storeu_ps(dx + i, v);
    }
    if (i < n) {
        const __m256i m = cnn_avx2_tail_mask(n - i);
        __m256 v = dx_block(job, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(dy + i, m), mean,
                            k, gm, invstd, w);
        if (job->accumulate) v = _mm256_add_ps(_mm256_maskload_ps(dx + i, m), v);
        _mm256_maskstore_ps(dx + i, m, v);
    }
}

static const cnn_batchnorm_train_hooks g_avx2_hooks = {NULL, NULL, grad_stats_avx2,
                                                        grad_input_avx2};

cnn_status cnn_f32_batchnorm_backward_avx2(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                           const float* input, const float* grad_output,
                                           const float* weight, const float* mean,
                                           const float* invstd, int32_t batch_statistics,
                                           int32_t accumulate, float* grad_input,
                                           float* grad_weight, float* grad_bias) {
    return cnn_batchnorm_backward_run(ctx, p, input, grad_output, weight, mean, invstd,
                                      batch_statistics, accumulate, grad_input, grad_weight,
                                      grad_bias, &g_avx2_hooks);
}
