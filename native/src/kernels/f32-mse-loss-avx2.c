/*
 * f32-mse-loss-avx2.c — mean squared error: the reference's fixed CNN_REDUCE_BLOCK blocks
 * (thread-count independent), each summed in double 8 lanes at a time; the gradient
 * (float)(2/count) * (p - t) is the reference's operations (bit-identical).
 */
#include "avx2-math.h"
#include "ops-common.h"

static void mse_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_mse_job* job = (const cnn_mse_job*)arg;
    const __m256 norm = _mm256_set1_ps(job->norm);
    for (int64_t block = begin; block < end; block++) {
        const int64_t lo = block * CNN_REDUCE_BLOCK;
        const int64_t hi = lo + CNN_REDUCE_BLOCK < job->count ? lo + CNN_REDUCE_BLOCK : job->count;
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        for (int64_t i = lo; i < hi; i += 8) {
            const __m256i m = cnn_avx2_tail_mask(hi - i < 8 ? hi - i : 8);
            const __m256 d =
                _mm256_sub_ps(_mm256_maskload_ps(job->p + i, m), _mm256_maskload_ps(job->t + i, m));
            const __m256d dl = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
            const __m256d dh = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
            s0 = _mm256_fmadd_pd(dl, dl, s0);
            s1 = _mm256_fmadd_pd(dh, dh, s1);
            if (job->grad) _mm256_maskstore_ps(job->grad + i, m, _mm256_mul_ps(norm, d));
        }
        const __m256d s = _mm256_add_pd(s0, s1);
        job->partial[block] = cnn_avx2_hsum_pd(s);
    }
}

cnn_status cnn_f32_mse_loss_avx2(cnn_context* ctx, int64_t count, const float* prediction,
                                 const float* target, float* out_loss, float* grad_prediction) {
    return cnn_mse_loss_run(ctx, count, prediction, target, out_loss, grad_prediction, 32,
                            mse_task);
}
