/* f32-axpy-scalar.c — reference y[i] += alpha * x[i], rounded once (fma), like ATen's
 * y.add_(x, alpha=alpha). x may be y. */
#include "train-common.h"

static void axpy_elements(const cnn_axpy_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) job->y[i] = fmaf(job->x[i], job->alpha, job->y[i]);
}

CNN_TRAIN_TASK(axpy_task, cnn_axpy_job, axpy_elements)

cnn_status cnn_f32_axpy_scalar(cnn_context* ctx, int64_t count, float alpha, const float* x,
                               float* y) {
    cnn_axpy_job job = {alpha, x, y};
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, axpy_task, &job);
    return CNN_STATUS_SUCCESS;
}
