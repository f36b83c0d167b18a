/* batch_norm2d.c — cnn_batch_norm2d_inference: validation and dispatch (eval-mode batch norm
 * with running statistics, optional affine weight/bias, fused activation, in-place allowed). */
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
