/* elementwise_train.c — cnn_mul_forward, cnn_axpy and cnn_sum_squares: validation and
 * dispatch. mul's output may be a or b (a may be b); axpy's x may be y; partial overlaps are
 * rejected. */
#include <stdint.h>

#include "cnn_internal.h"
#include "float_checks.h"
#include "overlap.h"

/* count >= 1 and count floats addressable; returns from the caller on failure. */
#define CHECK_COUNT(count)                                                \
    do {                                                                  \
        CNN_CHECK_RANGE("count", count, 1, INT64_MAX);                    \
        int64_t checked_ = 0;                                             \
        if (!cnn_checked_product(__func__, "count", &checked_, 1, count)) \
            return CNN_STATUS_INVALID_ARGUMENT;                           \
    } while (0)

cnn_status cnn_mul_forward(cnn_context* context, int64_t count, const float* a, const float* b,
                           float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(a);
    CNN_CHECK_NOT_NULL(b);
    CNN_CHECK_NOT_NULL(output);
    CHECK_COUNT(count);
    cnn_status st = cnn_check_same_or_disjoint(__func__, "a", a, output, count);
    if (st == CNN_STATUS_SUCCESS) st = cnn_check_same_or_disjoint(__func__, "b", b, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->mul(context, count, a, b, output);
}

cnn_status cnn_axpy(cnn_context* context, int64_t count, float alpha, const float* x, float* y) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(x);
    CNN_CHECK_NOT_NULL(y);
    CHECK_COUNT(count);
    CNN_CHECK_FLOAT("scale", "alpha", alpha, CNN_FLOAT_FINITE);
    cnn_status st = cnn_check_same_or_disjoint(__func__, "x", x, y, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->axpy(context, count, alpha, x, y);
}

cnn_status cnn_sum_squares(cnn_context* context, int64_t count, const float* x, double* out_sum) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(x);
    CNN_CHECK_NOT_NULL(out_sum);
    CHECK_COUNT(count);
    return context->kernels->sum_squares(context, count, x, out_sum);
}
