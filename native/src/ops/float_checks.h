/* float_checks.h — validation of float hyper-parameters for the training ops (dropout, axpy,
 * optimizers). Messages name the function, what torch calls the argument, the argument as
 * written in the C API, its value and the accepted range. NaN fails every check. */
#ifndef CNN_OPS_FLOAT_CHECKS_H
#define CNN_OPS_FLOAT_CHECKS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cnn_internal.h"

typedef enum cnn_float_range {
    CNN_FLOAT_FINITE,       /* any finite value */
    CNN_FLOAT_NON_NEGATIVE, /* [0, +inf), finite */
    CNN_FLOAT_POSITIVE,     /* (0, +inf), finite */
    CNN_FLOAT_UNIT_OPEN,    /* [0, 1) */
    CNN_FLOAT_UNIT_CLOSED   /* [0, 1] */
} cnn_float_range;

static inline int cnn_float_in_range(float v, cnn_float_range range) {
    if (!isfinite(v)) return 0;
    switch (range) {
        case CNN_FLOAT_NON_NEGATIVE:
            return v >= 0.0f;
        case CNN_FLOAT_POSITIVE:
            return v > 0.0f;
        case CNN_FLOAT_UNIT_OPEN:
            return v >= 0.0f && v < 1.0f;
        case CNN_FLOAT_UNIT_CLOSED:
            return v >= 0.0f && v <= 1.0f;
        default:
            return 1;
    }
}

static inline const char* cnn_float_range_text(cnn_float_range range) {
    switch (range) {
        case CNN_FLOAT_NON_NEGATIVE:
            return "[0, +inf)";
        case CNN_FLOAT_POSITIVE:
            return "(0, +inf)";
        case CNN_FLOAT_UNIT_OPEN:
            return "[0, 1)";
        case CNN_FLOAT_UNIT_CLOSED:
            return "[0, 1]";
        default:
            return "(-inf, +inf)";
    }
}

/* The shortest %g form of v that reads back as the same float ("0.9", not "0.899999976"). */
static inline void cnn_format_float(char buffer[32], float v) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buffer, 32, "%.*g", digits, (double)v);
        if (isnan(v) || (float)strtod(buffer, NULL) == v) return;
    }
}

/* e.g. "cnn_sgd_step: Invalid learning rate: params->learning_rate = -0.1 is out of range
 * [0, +inf)". `what` is torch's wording ("learning rate", "momentum value", ...). */
#define CNN_CHECK_FLOAT(what, name, value, range)                                              \
    do {                                                                                       \
        const float cnn_f_ = (value);                                                          \
        if (!cnn_float_in_range(cnn_f_, range)) {                                              \
            char cnn_text_[32];                                                                \
            cnn_format_float(cnn_text_, cnn_f_);                                               \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                  \
                                 "%s: Invalid %s: %s = %s is out of range %s", __func__, what, \
                                 name, cnn_text_, cnn_float_range_text(range));                \
        }                                                                                      \
    } while (0)

#endif
