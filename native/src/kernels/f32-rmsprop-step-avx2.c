/* f32-rmsprop-step-avx2.c — torch.optim.RMSprop step, 8 lanes at a time, same operations as
 * f32-rmsprop-step-scalar.c (bit-identical results). */
#include "train-avx2.h"

CNN_AVX2_INLINE void rmsprop_vector(const cnn_rmsprop_job* job, int64_t i, __m256i mk, int full) {
    const __m256 p = cnn_avx2_load(job->parameter + i, mk, full);
    __m256 g = cnn_avx2_load(job->grad + i, mk, full);
    if (job->has_weight_decay) g = _mm256_fmadd_ps(p, _mm256_set1_ps(job->weight_decay), g);
    const __m256 s = _mm256_fmadd_ps(
        _mm256_mul_ps(_mm256_set1_ps(job->one_minus_alpha), g), g,
        _mm256_mul_ps(cnn_avx2_load(job->square_avg + i, mk, full), _mm256_set1_ps(job->alpha)));
    const __m256 avg = _mm256_add_ps(_mm256_sqrt_ps(s), _mm256_set1_ps(job->epsilon));
    cnn_avx2_store(job->square_avg + i, s, mk, full);
    const __m256 neg_lr = _mm256_set1_ps(job->neg_lr);
    if (job->has_momentum) {
        const __m256 buf =
            _mm256_add_ps(_mm256_mul_ps(cnn_avx2_load(job->momentum_buffer + i, mk, full),
                                        _mm256_set1_ps(job->momentum)),
                          _mm256_div_ps(g, avg));
        cnn_avx2_store(job->momentum_buffer + i, buf, mk, full);
        cnn_avx2_store(job->parameter + i, _mm256_fmadd_ps(buf, neg_lr, p), mk, full);
    } else {
        const __m256 update = _mm256_div_ps(_mm256_mul_ps(neg_lr, g), avg);
        cnn_avx2_store(job->parameter + i, _mm256_add_ps(p, update), mk, full);
    }
}

CNN_AVX2_ELEMENT_LOOP(rmsprop_elements, cnn_rmsprop_job, rmsprop_vector)
CNN_TRAIN_TASK(rmsprop_task, cnn_rmsprop_job, rmsprop_elements)

cnn_status cnn_f32_rmsprop_step_avx2(cnn_context* ctx, const cnn_rmsprop_params* p, int64_t count,
                                     float* parameter, const float* grad, float* square_avg,
                                     float* momentum_buffer) {
    cnn_rmsprop_job job = cnn_rmsprop_job_make(p, parameter, grad, square_avg, momentum_buffer);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, rmsprop_task, &job);
    return CNN_STATUS_SUCCESS;
}
