/* adaptive_avg_pool2d.c — cnn_adaptive_avg_pool2d_forward / _backward: validation, dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

/* Validates the six sizes and returns the input and output element counts and the plane count;
 * 0 on failure (error set). */
static int check_sizes(const char* fn, int32_t batch, int32_t channels, int32_t in_height,
                       int32_t in_width, int32_t out_height, int32_t out_width,
                       int64_t* in_count, int64_t* out_count, int64_t* planes) {
    const int32_t values[6] = {batch, channels, in_height, in_width, out_height, out_width};
    static const char* const names[6] = {"batch",    "channels",   "in_height",
                                         "in_width", "out_height", "out_width"};
    for (int i = 0; i < 6; i++) {
        if (values[i] < 1) {
            cnn_set_error(CNN_STATUS_INVALID_ARGUMENT, "%s: %s = %d is out of range [1, %d]", fn,
                          names[i], values[i], INT32_MAX);
            return 0;
        }
    }
    return cnn_checked_product(fn, "input (batch*channels*in_height*in_width)", in_count, 4,
                               (int64_t)batch, (int64_t)channels, (int64_t)in_height,
                               (int64_t)in_width) &&
           cnn_checked_product(fn, "output (batch*channels*out_height*out_width)", out_count, 4,
                               (int64_t)batch, (int64_t)channels, (int64_t)out_height,
                               (int64_t)out_width) &&
           cnn_checked_product(fn, "planes (batch*channels)", planes, 2, (int64_t)batch,
                               (int64_t)channels);
}

cnn_status cnn_adaptive_avg_pool2d_forward(cnn_context* context, int32_t batch, int32_t channels,
                                           int32_t in_height, int32_t in_width,
                                           int32_t out_height, int32_t out_width,
                                           const float* input, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    int64_t in_count = 0, out_count = 0, planes = 0;
    if (!check_sizes(__func__, batch, channels, in_height, in_width, out_height, out_width,
                     &in_count, &out_count, &planes))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_disjoint(__func__, "input", input, in_count, output, out_count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->adaptive_avg_pool2d(context, planes, in_height, in_width, out_height,
                                                 out_width, input, output);
}

cnn_status cnn_adaptive_avg_pool2d_backward(cnn_context* context, int32_t batch, int32_t channels,
                                            int32_t in_height, int32_t in_width,
                                            int32_t out_height, int32_t out_width,
                                            const float* grad_output, float* grad_input,
                                            int32_t accumulate) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t in_count = 0, out_count = 0, planes = 0;
    if (!check_sizes(__func__, batch, channels, in_height, in_width, out_height, out_width,
                     &in_count, &out_count, &planes))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_no_overlap(__func__, "grad_input", grad_input, in_count,
                                               "grad_output", grad_output, out_count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->adaptive_avg_pool2d_backward(context, planes, in_height, in_width,
                                                          out_height, out_width, grad_output,
                                                          grad_input, accumulate);
}
