/* f32-sgd-step-avx2.c — torch.optim.SGD step, 8 lanes at a time, same operations as
 * f32-sgd-step-scalar.c (bit-identical results). */
#include "train-avx2.h"

CNN_AVX2_INLINE void sgd_vector(const cnn_sgd_job* job, int64_t i, __m256i m, int full) {
    const __m256 p = cnn_avx2_load(job->parameter + i, m, full);
    __m256 d = cnn_avx2_load(job->grad + i, m, full);
    if (job->has_weight_decay) d = _mm256_fmadd_ps(p, _mm256_set1_ps(job->weight_decay), d);
    if (job->has_momentum) {
        const __m256 mom = _mm256_set1_ps(job->momentum);
        const __m256 buf =
            job->first_step
                ? d
                : _mm256_fmadd_ps(
                      d, _mm256_set1_ps(job->one_minus_dampening),
                      _mm256_mul_ps(cnn_avx2_load(job->momentum_buffer + i, m, full), mom));
        cnn_avx2_store(job->momentum_buffer + i, buf, m, full);
        d = job->nesterov ? _mm256_fmadd_ps(buf, mom, d) : buf;
    }
    cnn_avx2_store(job->parameter + i, _mm256_fmadd_ps(d, _mm256_set1_ps(job->neg_lr), p), m, full);
}

CNN_AVX2_ELEMENT_LOOP(sgd_elements, cnn_sgd_job, sgd_vector)
CNN_TRAIN_TASK(sgd_task, cnn_sgd_job, sgd_elements)

cnn_status cnn_f32_sgd_step_avx2(cnn_context* ctx, const cnn_sgd_params* p, int64_t count,
                                 int64_t step, float* parameter, const float* grad,
                                 float* momentum_buffer) {
    cnn_sgd_job job = cnn_sgd_job_make(p, step, parameter, grad, momentum_buffer);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, sgd_task, &job);
    return CNN_STATUS_SUCCESS;
}
