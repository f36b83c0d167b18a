/* f32-add-scalar.c — reference residual add: output[i] = activation(a[i] + b[i]).
 * output may alias a or b (each element is read before it is written). */
#include "ops-common.h"

static void add_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_elementwise_job* job = (const cnn_elementwise_job*)arg;
    for (int64_t i = begin; i < end; i++)
        job->output[i] = cnn_activation_scalar_apply(job->activation, job->a[i] + job->b[i]);
}

cnn_status cnn_f32_add_scalar(cnn_context* ctx, int64_t count, const float* a, const float* b,
                              cnn_activation activation, float* output) {
    cnn_elementwise_job job = {a, b, activation, output};
    cnn_parallel_for(ctx, count, CNN_PARALLEL_GRAIN_WORK, add_task, &job);
    return CNN_STATUS_SUCCESS;
}
