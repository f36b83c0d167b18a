/* f32-mul-scalar.c — reference element-wise product: output[i] = a[i] * b[i] (output may be a
 * or b: each element is read before it is written). */
#include "train-common.h"

static void mul_elements(const cnn_mul_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) job->output[i] = job->a[i] * job->b[i];
}

CNN_TRAIN_TASK(mul_task, cnn_mul_job, mul_elements)

cnn_status cnn_f32_mul_scalar(cnn_context* ctx, int64_t count, const float* a, const float* b,
                              float* output) {
    cnn_mul_job job = {a, b, output};
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, mul_task, &job);
    return CNN_STATUS_SUCCESS;
}
