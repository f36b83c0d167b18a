/* global_average_pool2d.c — cnn_global_average_pool2d_forward / _backward: validation, dispatch.
 * output[N, C] = mean of input[N, C, H, W] over H and W (torch's AdaptiveAvgPool2d(1)). */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_global_average_pool2d_forward(cnn_context* context, int32_t batch, int32_t channels,
                                             int32_t height, int32_t width, const float* input,
                                             float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("batch", batch, 1, INT32_MAX);
    CNN_CHECK_RANGE("channels", channels, 1, INT32_MAX);
    CNN_CHECK_RANGE("height", height, 1, INT32_MAX);
    CNN_CHECK_RANGE("width", width, 1, INT32_MAX);
    int64_t count = 0, planes = 0, plane_size = 0;
    if (!cnn_checked_product(__func__, "input (batch*channels*height*width)", &count, 4,
                             (int64_t)batch, (int64_t)channels, (int64_t)height, (int64_t)width) ||
        !cnn_checked_product(__func__, "planes (batch*channels)", &planes, 2, (int64_t)batch,
                             (int64_t)channels) ||
        !cnn_checked_product(__func__, "plane (height*width)", &plane_size, 2, (int64_t)height,
                             (int64_t)width))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_disjoint(__func__, "input", input, count, output, planes);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->global_average_pool2d(context, planes, plane_size, input, output);
}

cnn_status cnn_global_average_pool2d_backward(cnn_context* context, int32_t batch,
                                              int32_t channels, int32_t height, int32_t width,
                                              const float* grad_output, int32_t accumulate,
                                              float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("batch", batch, 1, INT32_MAX);
    CNN_CHECK_RANGE("channels", channels, 1, INT32_MAX);
    CNN_CHECK_RANGE("height", height, 1, INT32_MAX);
    CNN_CHECK_RANGE("width", width, 1, INT32_MAX);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t count = 0, planes = 0, plane_size = 0;
    if (!cnn_checked_product(__func__, "grad_input (batch*channels*height*width)", &count, 4,
                             (int64_t)batch, (int64_t)channels, (int64_t)height, (int64_t)width) ||
        !cnn_checked_product(__func__, "planes (batch*channels)", &planes, 2, (int64_t)batch,
                             (int64_t)channels) ||
        !cnn_checked_product(__func__, "plane (height*width)", &plane_size, 2, (int64_t)height,
                             (int64_t)width))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_no_overlap(__func__, "grad_input", grad_input, count,
                                               "grad_output", grad_output, planes);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->global_average_pool2d_backward(context, planes, plane_size,
                                                            grad_output, accumulate, grad_input);
}
