/*
 * f32-activation-scalar.c — reference element-wise activations, and the single scalar
 * definition (cnn_activation_scalar_apply) every kernel epilogue agrees with.
 *   relu(x)    = x < 0 ? 0 : x     (NaN stays NaN, like torch.relu)
 *   sigmoid(x) = 1 / (1 + exp(-x))
 *   tanh(x)    = tanh(x)
 *   relu6(x)   = x < 0 ? 0 : (x > 6 ? 6 : x)   (NaN stays NaN, like torch.nn.functional.relu6)
 *   hardswish(x)   = x * clamp(x + 3, 0, 6) / 6      (torch's order of operations)
 *   hardsigmoid(x) = clamp(x + 3, 0, 6) / 6
 *   silu(x)    = x / (1 + exp(-x))
 *   gelu(x)    = 0.5 * x * (1 + erf(x / sqrt(2)))
 * clamp keeps NaN (the comparisons are false for it).
 */
#include <math.h>

#include "ops-common.h"

static float clamp_0_6(float v) {
    return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
}

float cnn_activation_scalar_apply(cnn_activation activation, float x) {
    switch (activation) {
        case CNN_ACTIVATION_HARDSWISH: return x * clamp_0_6(x + 3.0f) / 6.0f;
        case CNN_ACTIVATION_HARDSIGMOID: return clamp_0_6(x + 3.0f) / 6.0f;
        case CNN_ACTIVATION_SILU: return x / (1.0f + expf(-x));
        case CNN_ACTIVATION_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
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
