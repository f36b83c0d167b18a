/* activation.c — cnn_activation_forward: validation and dispatch (in-place allowed). */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_activation_forward(cnn_context* context, cnn_activation activation, int64_t count,
                                  const float* input, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_ACTIVATION(activation);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->activation(context, activation, count, input, output);
}
