/* scale_shift.c — cnn_scale_shift_forward (in place allowed): validation, dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_scale_shift_forward(cnn_context* context, int64_t outer, int64_t channels,
                                   int64_t inner, const float* input, const float* scale,
                                   const float* shift, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("outer", outer, 1, INT64_MAX);
    CNN_CHECK_RANGE("channels", channels, 1, INT64_MAX);
    CNN_CHECK_RANGE("inner", inner, 1, INT64_MAX);
    int64_t count = 0;
    if (!cnn_checked_product(__func__, "input (outer*channels*inner)", &count, 3, outer, channels,
                             inner))
        return CNN_STATUS_INVALID_ARGUMENT;
    cnn_status st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    st = cnn_check_no_overlap(__func__, "output", output, count, "scale", scale, channels);
    if (st != CNN_STATUS_SUCCESS) return st;
    st = cnn_check_no_overlap(__func__, "output", output, count, "shift", shift, channels);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->scale_shift(context, outer, channels, inner, input, scale, shift,
                                         output);
}
