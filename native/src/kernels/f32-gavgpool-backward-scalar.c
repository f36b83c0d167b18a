/* f32-gavgpool-backward-scalar.c — reference gradient of global average pooling (torch's
 * mean over H, W): grad_input[plane, i] (=, +=) grad_output[plane] / (float)plane_size. */
#include "ops-common.h"

static void gavgpool_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_backward_job* job = (const cnn_backward_job*)arg;
    const int64_t n = job->plane_size;
    for (int64_t plane = begin; plane < end; plane++) {
        const float d = job->grad[plane] / (float)n;
        float* gi = job->grad_input + plane * n;
        for (int64_t i = 0; i < n; i++) gi[i] = job->accumulate ? gi[i] + d : d;
    }
}

cnn_status cnn_f32_gavgpool_backward_scalar(cnn_context* ctx, int64_t planes, int64_t plane_size,
                                            const float* grad_output, int32_t accumulate,
                                            float* grad_input) {
    cnn_backward_job job = {NULL, grad_output, grad_input, plane_size, CNN_ACTIVATION_NONE,
                            accumulate};
    const int64_t grain = 4 * CNN_PARALLEL_GRAIN_WORK / plane_size;
    cnn_parallel_for(ctx, planes, grain > 1 ? grain : 1, gavgpool_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
