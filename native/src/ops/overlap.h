/* overlap.h — buffer overlap checks shared by the ops/ drivers of pool2d, global average pool,
 * batch norm, activation, softmax and add (element counts already validated). */
#ifndef CNN_OPS_OVERLAP_H
#define CNN_OPS_OVERLAP_H

#include <stdint.h>

#include "cnn_internal.h"

/* Whether the float ranges [a, a + a_count) and [b, b + b_count) share any byte. */
static inline int cnn_float_ranges_overlap(const float* a, int64_t a_count, const float* b,
                                           int64_t b_count) {
    const uintptr_t a0 = (uintptr_t)a, a1 = a0 + (uintptr_t)a_count * sizeof(float);
    const uintptr_t b0 = (uintptr_t)b, b1 = b0 + (uintptr_t)b_count * sizeof(float);
    return a0 < b1 && b0 < a1;
}

/* Out-of-place ops: output must not share any element with the input. */
static inline cnn_status cnn_check_disjoint(const char* fn, const char* input_name,
                                            const float* input, int64_t input_count,
                                            const float* output, int64_t output_count) {
    if (cnn_float_ranges_overlap(input, input_count, output, output_count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output (%p) overlaps %s (%p); this op cannot run in place", fn,
                             (void*)output, input_name, (const void*)input);
    return CNN_STATUS_SUCCESS;
}

/* In-place ops: output may be exactly the input, or disjoint from it, never partially
 * overlapping (count elements each). */
static inline cnn_status cnn_check_same_or_disjoint(const char* fn, const char* input_name,
                                                    const float* input, const float* output,
                                                    int64_t count) {
    if (input != output && cnn_float_ranges_overlap(input, count, output, count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output (%p) partially overlaps %s (%p); it must be the same "
                             "buffer or a disjoint one",
                             fn, (void*)output, input_name, (const void*)input);
    return CNN_STATUS_SUCCESS;
}

#endif
