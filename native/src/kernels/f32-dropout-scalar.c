/* f32-dropout-scalar.c — reference inverted dropout: element i is dropped iff its 24-bit
 * counter-based draw (train-common.h) is below ceil(p * 2^24); mask[i] = 0 or 1/(1-p),
 * output[i] = input[i] * mask[i] (output may be input). */
#include "train-common.h"

static void dropout_elements(const cnn_dropout_job* job, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
        const float m = cnn_dropout_bits(job->key, i) < job->threshold ? 0.0f : job->scale;
        const float x = job->input[i];
        job->mask[i] = m;
        job->output[i] = x * m;
    }
}

CNN_TRAIN_TASK(dropout_task, cnn_dropout_job, dropout_elements)

cnn_status cnn_f32_dropout_scalar(cnn_context* ctx, int64_t count, float p, int64_t seed,
                                  const float* input, float* mask, float* output) {
    cnn_dropout_job job = cnn_dropout_job_make(p, seed, input, mask, output);
    cnn_parallel_for(ctx, count, CNN_TRAIN_GRAIN, dropout_task, &job);
    return CNN_STATUS_SUCCESS;
}
