/* add.c — cnn_add_forward: validation and dispatch. output = activation(a + b); output may be
 * a or b (the residual add in place), a and b may be the same buffer. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_add_forward(cnn_context* context, int64_t count, const float* a, const float* b,
                           cnn_activation activation, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(a);
    CNN_CHECK_NOT_NULL(b);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    CNN_CHECK_ACTIVATION(activation);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    cnn_status st = cnn_check_same_or_disjoint(__func__, "a", a, output, count);
    if (st == CNN_STATUS_SUCCESS) st = cnn_check_same_or_disjoint(__func__, "b", b, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->add(context, count, a, b, activation, output);
}
