/*
 * f32-activation-backward-scalar.c — reference activation gradients from the forward OUTPUT y,
 * evaluated in torch 1.13's order:
 *   none:    g
 *   relu:    y <= 0 ? 0 : g            (threshold_backward: a NaN y passes g through)
 *   sigmoid: (g * (1 - y)) * y         (sigmoid_backward)
 *   tanh:    g * (1 - y * y)           (tanh_backward)
 *   relu6:   y <= 0 || y >= 6 ? 0 : g  (hardtanh_backward: a NaN y passes g through)
 * accumulate = 1 adds the result to grad_input.
 */
#include "ops-common.h"

float cnn_activation_backward_scalar_apply(cnn_activation activation, float y, float g) {
    switch (activation) {
        case CNN_ACTIVATION_RELU: return y <= 0.0f ? 0.0f : g;
        case CNN_ACTIVATION_SIGMOID: return g * (1.0f - y) * y;
        case CNN_ACTIVATION_TANH: return g * (1.0f - y * y);
        case CNN_ACTIVATION_RELU6: return y <= 0.0f || y >= 6.0f ? 0.0f : g;
        default: return g;
    }
}

static void activation_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_backward_job* job = (const cnn_backward_job*)arg;
    float* gi = job->grad_input;
    for (int64_t i = begin; i < end; i++) {
        const float v = cnn_activation_backward_scalar_apply(job->activation, job->y[i], job->grad[i]);
        gi[i] = job->accumulate ? gi[i] + v : v;
    }
}

cnn_status cnn_f32_activation_backward_scalar(cnn_context* ctx, cnn_activation activation,
                                              int64_t count, const float* output,
                                              const float* grad_output, int32_t accumulate,
                                              float* grad_input) {
    cnn_backward_job job = {output, grad_output, grad_input, 0, activation, accumulate};
    cnn_parallel_for(ctx, count, 4 * CNN_PARALLEL_GRAIN_WORK, activation_backward_task, &job);
    return CNN_STATUS_SUCCESS;
}
