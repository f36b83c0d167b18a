/* f32-sum-squares-scalar.c — reference sum of squares in double precision, plus the blocked
 * driver both kernel families use: partial sums over fixed CNN_SUM_SQUARES_BLOCK-element blocks
 * (threads take whole blocks), added in block order, so the result is the same for any thread
 * count. */
#include "train-common.h"

static void sum_squares_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const cnn_sum_squares_job* job = (const cnn_sum_squares_job*)arg;
    const cnn_sum_squares_block_fn block_sum = job->block_sum;
    for (int64_t b = begin; b < end; b++) {
        const int64_t first = b * CNN_SUM_SQUARES_BLOCK;
        const int64_t n =
            job->count - first < CNN_SUM_SQUARES_BLOCK ? job->count - first : CNN_SUM_SQUARES_BLOCK;
        job->partial[b] = block_sum(job->x + first, n);
    }
}

cnn_status cnn_sum_squares_run(cnn_context* ctx, int64_t count, const float* x,
                               cnn_sum_squares_block_fn block_sum, double* out_sum) {
    const int64_t blocks = cnn_sum_squares_blocks(count);
    if (blocks == 1) {
        *out_sum = block_sum(x, count);
        return CNN_STATUS_SUCCESS;
    }
    double* partial = (double*)cnn_context_scratch(ctx, (size_t)blocks * sizeof(double));
    if (partial == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cnn_sum_squares_job job = {x, count, partial, block_sum};
    cnn_parallel_for(ctx, blocks, CNN_TRAIN_GRAIN / CNN_SUM_SQUARES_BLOCK, sum_squares_task, &job);
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; b++) sum += partial[b];
    *out_sum = sum;
    return CNN_STATUS_SUCCESS;
}

static double block_sum_scalar(const float* x, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

cnn_status cnn_f32_sum_squares_scalar(cnn_context* ctx, int64_t count, const float* x,
                                      double* out_sum) {
    return cnn_sum_squares_run(ctx, count, x, block_sum_scalar, out_sum);
}
