/* dropout.c — cnn_dropout_forward: validation and dispatch. The mask is a pure function of
 * (seed, index, p) (see kernels/train-common.h), so it does not depend on the thread count or
 * the ISA. output may be input (in place); mask must not overlap either. */
#include <stdint.h>

#include "cnn_internal.h"
#include "float_checks.h"
#include "overlap.h"

cnn_status cnn_dropout_forward(cnn_context* context, int64_t count, float p, int64_t seed,
                               const float* input, float* mask, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(mask);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    CNN_CHECK_FLOAT("dropout probability", "p", p, CNN_FLOAT_UNIT_OPEN);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    cnn_status st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    if (cnn_float_ranges_overlap(mask, count, input, count) ||
        cnn_float_ranges_overlap(mask, count, output, count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: mask (%p) overlaps input (%p) or output (%p); it must be a "
                             "separate buffer",
                             __func__, (void*)mask, (const void*)input, (void*)output);
    return context->kernels->dropout(context, count, p, seed, input, mask, output);
}
