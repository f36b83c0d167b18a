/* overlap.h — buffer overlap checks shared by the ops/ drivers of pool2d, global average pool,
 * batch norm, activation, softmax, add, conv2d and linear (element counts already validated). */
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

/* Named form for ops with several outputs: `output_name` must not share any element with
 * `other_name` (either may be NULL: nothing to check). */
static inline cnn_status cnn_check_no_overlap(const char* fn, const char* output_name,
                                              const void* output, int64_t output_count,
                                              const char* other_name, const void* other,
                                              int64_t other_count) {
    if (output != NULL && other != NULL &&
        cnn_float_ranges_overlap((const float*)output, output_count, (const float*)other,
                                 other_count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: %s (%p, %lld elements) overlaps %s (%p, %lld elements); "
                             "outputs must not alias any other argument",
                             fn, output_name, output, (long long)output_count, other_name, other,
                             (long long)other_count);
    return CNN_STATUS_SUCCESS;
}

/* One buffer of an overlap check list. */
typedef struct cnn_named_buffer {
    const char* name;
    const void* pointer; /* NULL: absent */
    int64_t count;       /* elements of 4 bytes */
} cnn_named_buffer;

/* Every one of the `outputs` must be disjoint from every other output and every input. */
static inline cnn_status cnn_check_outputs_disjoint(const char* fn,
                                                    const cnn_named_buffer* outputs,
                                                    int n_outputs,
                                                    const cnn_named_buffer* inputs,
                                                    int n_inputs) {
    for (int i = 0; i < n_outputs; i++) {
        for (int j = i + 1; j < n_outputs; j++) {
            cnn_status st = cnn_check_no_overlap(fn, outputs[i].name, outputs[i].pointer,
                                                 outputs[i].count, outputs[j].name,
                                                 outputs[j].pointer, outputs[j].count);
            if (st != CNN_STATUS_SUCCESS) return st;
        }
        for (int j = 0; j < n_inputs; j++) {
            cnn_status st = cnn_check_no_overlap(fn, outputs[i].name, outputs[i].pointer,
                                                 outputs[i].count, inputs[j].name,
                                                 inputs[j].pointer, inputs[j].count);
            if (st != CNN_STATUS_SUCCESS) return st;
        }
    }
    return CNN_STATUS_SUCCESS;
}

/* In a public function: returns CNN_STATUS_INVALID_ARGUMENT (naming __func__ and both buffers)
 * if the float buffer `out` (written) shares any byte with `in` (read). */
#define CNN_CHECK_FLOATS_DISJOINT(out_name, out, out_count, in_name, in, in_count)              \
    do {                                                                                        \
        if (cnn_float_ranges_overlap(out, out_count, in, in_count))                             \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                   \
                                 "%s: %s [%p, %lld floats] overlaps %s [%p, %lld floats]",      \
                                 __func__, out_name, (void*)(out), (long long)(out_count),       \
                                 in_name, (const void*)(in), (long long)(in_count));            \
    } while (0)

/* accumulate must be 0 (overwrite) or 1 (add). */
#define CNN_CHECK_ACCUMULATE(acc) CNN_CHECK_RANGE("accumulate", (acc), 0, 1)

#endif
