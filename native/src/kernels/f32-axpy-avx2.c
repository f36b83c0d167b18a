/* f32-axpy-avx2.c — y += alpha * x with one fma per lane (see f32-axpy-scalar.c). */
#include "train-avx2.h"

CNN_AVX2_INLINE void axpy_vector(const cnn_axpy_job* job, int64_t i, __m256i m, int full) {
    const __m256 x = cnn_avx2_load(job->x + i, m, full), y = cnn_avx2_load(job->y + i, m, full);
    cnn_avx2_store(job->y + i, _mm256_fmadd_ps(x, _mm256_set1_ps(job->alpha), y), m, full);
}

CNN_AVX2_ELEMENT_LOOP(axpy_elements, cnn_axpy_job, axpy_vector)
CNN_TRAIN_TASK(axpy_task, cnn_axpy_job, axpy_elements)

cnn_status cnn_f32_axpy_avx2(cnn_context* ctx, int64_t count, float alpha, const float* x,
                             float* y) {
    cnn_axpy_job job = {alpha, x, y};
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, axpy_task, &job);
    return CNN_STATUS_SUCCESS;
}
