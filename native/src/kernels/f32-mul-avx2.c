/* f32-mul-avx2.c — element-wise product, 8 lanes at a time (see f32-mul-scalar.c). */
#include "train-avx2.h"

CNN_AVX2_INLINE void mul_vector(const cnn_mul_job* job, int64_t i, __m256i m, int full) {
    const __m256 a = cnn_avx2_load(job->a + i, m, full), b = cnn_avx2_load(job->b + i, m, full);
    cnn_avx2_store(job->output + i, _mm256_mul_ps(a, b), m, full);
}

CNN_AVX2_ELEMENT_LOOP(mul_elements, cnn_mul_job, mul_vector)
CNN_TRAIN_TASK(mul_task, cnn_mul_job, mul_elements)

cnn_status cnn_f32_mul_avx2(cnn_context* ctx, int64_t count, const float* a, const float* b,
                            float* output) {
    cnn_mul_job job = {a, b, output};
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, mul_task, &job);
    return CNN_STATUS_SUCCESS;
}
