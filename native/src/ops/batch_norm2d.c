/* batch_norm2d.c — cnn_batch_norm2d_inference: validation and dispatch (eval-mode batch norm
 * with running statistics, optional affine weight/bias, fused activation, in-place allowed);
 * cnn_batch_norm2d_training_forward (batch statistics, running-stat update, N*H*W >= 2, momentum
 * in [0, 1], running_mean/running_var both or neither) and cnn_batch_norm2d_backward. Outputs of
 * the training functions must not overlap each other or any input. */
#include <math.h>
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_batch_norm2d_inference(cnn_context* context, const cnn_batch_norm2d_params* params,
                                      const float* input, const float* running_mean,
                                      const float* running_var, const float* weight,
                                      const float* bias, cnn_activation activation, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(running_mean);
    CNN_CHECK_NOT_NULL(running_var);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("params->batch", params->batch, 1, INT32_MAX);
    CNN_CHECK_RANGE("params->channels", params->channels, 1, INT32_MAX);
    CNN_CHECK_RANGE("params->height", params->height, 1, INT32_MAX);
    CNN_CHECK_RANGE("params->width", params->width, 1, INT32_MAX);
    if (!isfinite(params->epsilon) || params->epsilon < 0.0f)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: params->epsilon = %g must be finite and >= 0", __func__,
                             (double)params->epsilon);
    CNN_CHECK_ACTIVATION(activation);
    int64_t count = 0;
    if (!cnn_checked_product(__func__, "input (batch*channels*height*width)", &count, 4,
                             (int64_t)params->batch, (int64_t)params->channels,
                             (int64_t)params->height, (int64_t)params->width))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;

    const cnn_batch_norm2d_params p = *params;
    return context->kernels->batch_norm2d_inference(context, &p, input, running_mean, running_var,
                                                    weight, bias, activation, output);
}

/* Shape and epsilon checks shared by the training forward and the backward. */
static cnn_status validate_bn_params(const char* fn, const cnn_batch_norm2d_params* p,
                                     int64_t* count) {
#define BN_RANGE(name, value)                                                                   \
    do {                                                                                        \
        if ((value) < 1)                                                                        \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                   \
                                 "%s: params->%s = %d is out of range [1, %d]", fn, name,       \
                                 (int)(value), INT32_MAX);                                      \
    } while (0)
    BN_RANGE("batch", p->batch);
    BN_RANGE("channels", p->channels);
    BN_RANGE("height", p->height);
    BN_RANGE("width", p->width);
#undef BN_RANGE
    if (!isfinite(p->epsilon) || p->epsilon < 0.0f)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: params->epsilon = %g must be finite and >= 0", fn,
                             (double)p->epsilon);
    if (!cnn_checked_product(fn, "input (batch*channels*height*width)", count, 4,
                             (int64_t)p->batch, (int64_t)p->channels, (int64_t)p->height,
                             (int64_t)p->width))
        return CNN_STATUS_INVALID_ARGUMENT;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_batch_norm2d_training_forward(cnn_context* context,
                                             const cnn_batch_norm2d_params* params,
                                             const float* input, const float* weight,
                                             const float* bias, float momentum,
                                             float* running_mean, float* running_var,
                                             float* save_mean, float* save_invstd,
                                             float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(save_mean);
    CNN_CHECK_NOT_NULL(save_invstd);
    CNN_CHECK_NOT_NULL(output);
    int64_t count = 0;
    cnn_status st = validate_bn_params(__func__, params, &count);
    if (st != CNN_STATUS_SUCCESS) return st;
    const int64_t per_channel = (int64_t)params->batch * params->height * params->width;
    if (per_channel < 2)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: expected more than 1 value per channel when training, got "
                             "batch*height*width = %lld (input [%d, %d, %d, %d])",
                             __func__, (long long)per_channel, params->batch, params->channels,
                             params->height, params->width);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: momentum = %g is out of range [0, 1]", __func__,
                             (double)momentum);
    if ((running_mean == NULL) != (running_var == NULL))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: running_mean (%p) and running_var (%p) must both be given or "
                             "both be NULL",
                             __func__, (void*)running_mean, (void*)running_var);
    const int64_t C = params->channels;
    const cnn_named_buffer outputs[5] = {{"output", output, count},
                                         {"save_mean", save_mean, C},
                                         {"save_invstd", save_invstd, C},
                                         {"running_mean", running_mean, C},
                                         {"running_var", running_var, C}};
    const cnn_named_buffer inputs[3] = {
        {"input", input, count}, {"weight", weight, C}, {"bias", bias, C}};
    st = cnn_check_outputs_disjoint(__func__, outputs, 5, inputs, 3);
    if (st != CNN_STATUS_SUCCESS) return st;

    const cnn_batch_norm2d_params p = *params;
    return context->kernels->batch_norm2d_training_forward(context, &p, input, weight, bias,
                                                           momentum, running_mean, running_var,
                                                           save_mean, save_invstd, output);
}

cnn_status cnn_batch_norm2d_backward(cnn_context* context, const cnn_batch_norm2d_params* params,
                                     const float* input, const float* grad_output,
                                     const float* weight, const float* mean, const float* invstd,
                                     int32_t batch_statistics, int32_t accumulate,
                                     float* grad_input, float* grad_weight, float* grad_bias) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(mean);
    CNN_CHECK_NOT_NULL(invstd);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("batch_statistics", batch_statistics, 0, 1);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t count = 0;
    cnn_status st = validate_bn_params(__func__, params, &count);
    if (st != CNN_STATUS_SUCCESS) return st;
    const int64_t C = params->channels;
    const cnn_named_buffer outputs[3] = {{"grad_input", grad_input, count},
                                         {"grad_weight", grad_weight, C},
                                         {"grad_bias", grad_bias, C}};
    const cnn_named_buffer inputs[5] = {{"input", input, count},
                                        {"grad_output", grad_output, count},
                                        {"weight", weight, C},
                                        {"mean", mean, C},
                                        {"invstd", invstd, C}};
    st = cnn_check_outputs_disjoint(__func__, outputs, 3, inputs, 5);
    if (st != CNN_STATUS_SUCCESS) return st;

    const cnn_batch_norm2d_params p = *params;
    return context->kernels->batch_norm2d_backward(context, &p, input, grad_output, weight, mean,
                                                   invstd, batch_statistics, accumulate,
                                                   grad_input, grad_weight, grad_bias);
}
