/*
 * f32-mse-loss-scalar.c — reference mean squared error: loss = sum (p - t)^2 / count (double,
 * partial sums over fixed CNN_REDUCE_BLOCK blocks combined in order: thread-count independent);
 * grad_prediction = (float)(2 / count) * (p - t) (torch's mse_loss_backward order), overwritten.
 * f32-mse-loss-avx2.c uses the same blocks and driver (cnn_mse_loss_run) with vector sums.
 */
#include "ops-common.h"

static void mse_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_mse_job* job = (const cnn_mse_job*)arg;
    for (int64_t block = begin; block < end; block++) {
        const int64_t lo = block * CNN_REDUCE_BLOCK;
        const int64_t hi = lo + CNN_REDUCE_BLOCK < job->count ? lo + CNN_REDUCE_BLOCK : job->count;
        double sum = 0.0;
        for (int64_t i = lo; i < hi; i++) {
            const float d = job->p[i] - job->t[i];
            sum += (double)d * d;
            if (job->grad) job->grad[i] = job->norm * d;
        }
        job->partial[block] = sum;
    }
}

cnn_status cnn_mse_loss_run(cnn_context* ctx, int64_t count, const float* prediction,
                            const float* target, float* out_loss, float* grad_prediction,
                            int64_t grain, cnn_task_fn task) {
    const int64_t blocks = (count + CNN_REDUCE_BLOCK - 1) / CNN_REDUCE_BLOCK;
    double* partial = (double*)cnn_context_scratch(ctx, (size_t)blocks * sizeof(double));
    if (partial == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_mse_job job = {count, prediction, target, grad_prediction, (float)(2.0 / (double)count),
                       partial};
    cnn_parallel_for(ctx, blocks, grain, task, &job);
    double total = 0.0;
    for (int64_t b = 0; b < blocks; b++) total += partial[b];
    *out_loss = (float)(total / (double)count);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_mse_loss_scalar(cnn_context* ctx, int64_t count, const float* prediction,
                                   const float* target, float* out_loss, float* grad_prediction) {
    return cnn_mse_loss_run(ctx, count, prediction, target, out_loss, grad_prediction, 16,
                            mse_task);
}
