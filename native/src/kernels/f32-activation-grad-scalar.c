/*
 * f32-activation-grad-scalar.c — reference activation gradients from the forward INPUT x
 * (cnn_activation_backward_from_input), in torch's formulas:
 *   relu:        x <= 0 ? 0 : g                 (a NaN x passes g through)
 *   sigmoid:     g * s * (1 - s),  s = sigmoid(x)
 *   tanh:        g * (1 - t * t),  t = tanh(x)
 *   relu6:       x <= 0 || x >= 6 ? 0 : g      (a NaN x passes g through)
 *   hardswish:   x <= -3 ? 0 : x < 3 ? g * (x / 3 + 0.5) : g   (torch 2.x hardswish_backward)
 *   hardsigmoid: -3 < x < 3 ? g / 6 : 0                          (hardsigmoid_backward)
 *   silu:        g * s * (1 + x * (1 - s))                      (silu_backward)
 *   gelu:        g * (Phi(x) + x * phi(x))                      (gelu_backward, exact form)
 * accumulate = 1 adds the result to grad_input.
 */
#include <math.h>

#include "ops-common.h"

float cnn_activation_grad_scalar_apply(cnn_activation activation, float x, float g) {
    switch (activation) {
        case CNN_ACTIVATION_RELU: return x <= 0.0f ? 0.0f : g;
        case CNN_ACTIVATION_SIGMOID: {
            const float s = 1.0f / (1.0f + expf(-x));
            return g * s * (1.0f - s);
        }
        case CNN_ACTIVATION_TANH: {
            const float t = tanhf(x);
            return g * (1.0f - t * t);
        }
        case CNN_ACTIVATION_RELU6: return x <= 0.0f || x >= 6.0f ? 0.0f : g;
        case CNN_ACTIVATION_HARDSWISH:
            return x <= -3.0f ? 0.0f : (x < 3.0f ? g * (x / 3.0f + 0.5f) : g);
        case CNN_ACTIVATION_HARDSIGMOID: return x > -3.0f && x < 3.0f ? g / 6.0f : 0.0f;
        case CNN_ACTIVATION_SILU: {
            const float s = 1.0f / (1.0f + expf(-x));
            return g * s * (1.0f + x * (1.0f - s));
        }
        case CNN_ACTIVATION_GELU: {
            const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
            const float pdf = expf(-0.5f * x * x) * 0.39894228040143268f; /* 1 / sqrt(2 pi) */
            return g * (cdf + x * pdf);
        }
        default: return g;
    }
}

static void activation_grad_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_backward_job* job = (const cnn_backward_job*)arg;
    float* gi = job->grad_input;
    for (int64_t i = begin; i < end; i++) {
        const float v = cnn_activation_grad_scalar_apply(job->activation, job->y[i], job->grad[i]);
        gi[i] = job->accumulate ? gi[i] + v : v;
    }
}

cnn_status cnn_f32_activation_grad_scalar(cnn_context* ctx, cnn_activation activation,
                                          int64_t count, const float* input,
                                          const float* grad_output, int32_t accumulate,
                                          float* grad_input) {
    cnn_backward_job job = {input, grad_output, grad_input, 0, activation, accumulate};
    cnn_parallel_for(ctx, count, CNN_PARALLEL_GRAIN_WORK, activation_grad_task, &job);
    return CNN_STATUS_SUCCESS;
}
