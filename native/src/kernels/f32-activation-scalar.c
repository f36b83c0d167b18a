/*
 * f32-activation-scalar.c — reference element-wise activations, and the single scalar
 * definition (cnn_activation_scalar_apply) every kernel epilogue agrees with.
 *   relu(x)    = x < 0 ? 0 : x     (NaN stays NaN, like torch.relu)
 *   sigmoid(x) = 1 / (1 + exp(-x))
 *   tanh(x)    = tanh(x)
 *   relu6(x)   = x < 0 ? 0 : (x > 6 ? 6 : x)   (NaN stays NaN, like torch.nn.functional.relu6)
 */
#include <math.h>

#include "ops-common.h"

float cnn_activation_scalar_apply(cnn_activation activation, float x) {
    switch (activation) {
        case CNN_ACTIVATION_RELU: return x < 0.0f ? 0.0f : x;
        case CNN_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case CNN_ACTIVATION_TANH: return tanhf(x);
        case CNN_ACTIVATION_RELU6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
        default: return x;
    }
}

static void activation_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_elementwise_job* job = (const cnn_elementwise_job*)arg;
    for (int64_t i = begin; i < end; i++)
        job->output[i] = cnn_activation_scalar_apply(job->activation, job->a[i]);
}

cnn_status cnn_f32_activation_scalar(cnn_context* ctx, cnn_activation activation, int64_t count,
                                     const float* input, float* output) {
    cnn_elementwise_job job = {input, NULL, activation, output};
    cnn_parallel_for(ctx, count, CNN_PARALLEL_GRAIN_WORK, activation_task, &job);
    return CNN_STATUS_SUCCESS;
}
