/* f32-adam-step-avx2.c — torch.optim.Adam / AdamW step, 8 lanes at a time, same operations as
 * f32-adam-step-scalar.c (bit-identical results). */
#include "train-avx2.h"

CNN_AVX2_INLINE void adam_vector(const cnn_adam_job* job, int64_t i, __m256i mk, int full) {
    __m256 p = cnn_avx2_load(job->parameter + i, mk, full);
    __m256 g = cnn_avx2_load(job->grad + i, mk, full);
    if (job->decoupled) p = _mm256_mul_ps(p, _mm256_set1_ps(job->decay));
    if (job->l2) g = _mm256_fmadd_ps(p, _mm256_set1_ps(job->weight_decay), g);
    const __m256 m = _mm256_fmadd_ps(
        g, _mm256_set1_ps(job->one_minus_beta1),
        _mm256_mul_ps(cnn_avx2_load(job->exp_avg + i, mk, full), _mm256_set1_ps(job->beta1)));
    const __m256 v = _mm256_fmadd_ps(
        _mm256_mul_ps(_mm256_set1_ps(job->one_minus_beta2), g), g,
        _mm256_mul_ps(cnn_avx2_load(job->exp_avg_sq + i, mk, full), _mm256_set1_ps(job->beta2)));
    const __m256 denom =
        _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), _mm256_set1_ps(job->bias_correction2_sqrt)),
                      _mm256_set1_ps(job->epsilon));
    cnn_avx2_store(job->exp_avg + i, m, mk, full);
    cnn_avx2_store(job->exp_avg_sq + i, v, mk, full);
    const __m256 update =
        _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(job->neg_step_size), m), denom);
    cnn_avx2_store(job->parameter + i, _mm256_add_ps(p, update), mk, full);
}

CNN_AVX2_ELEMENT_LOOP(adam_elements, cnn_adam_job, adam_vector)
CNN_TRAIN_TASK(adam_task, cnn_adam_job, adam_elements)

cnn_status cnn_f32_adam_step_avx2(cnn_context* ctx, const cnn_adam_params* p, int64_t count,
                                  int64_t step, float* parameter, const float* grad, float* exp_avg,
                                  float* exp_avg_sq) {
    cnn_adam_job job = cnn_adam_job_make(p, step, parameter, grad, exp_avg, exp_avg_sq);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, adam_task, &job);
    return CNN_STATUS_SUCCESS;
}
