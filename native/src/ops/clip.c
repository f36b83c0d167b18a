/* clip.c — cnn_clip_forward (in place allowed) and cnn_clip_backward: validation, dispatch. */
#include <math.h>
#include <stdint.h>

#include "cnn_internal.h"
#include "float_checks.h"
#include "overlap.h"

/* min_value and max_value: not NaN (infinities allowed, as torch.clamp), min_value <= max_value. */
static cnn_status check_bounds(const char* fn, float min_value, float max_value) {
    if (isnan(min_value) || isnan(max_value) || min_value > max_value) {
        char lo[32], hi[32];
        cnn_format_float(lo, min_value);
        cnn_format_float(hi, max_value);
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: min_value = %s and max_value = %s must not be NaN and need "
                             "min_value <= max_value",
                             fn, lo, hi);
    }
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_clip_forward(cnn_context* context, int64_t count, const float* input,
                            float min_value, float max_value, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    cnn_status st = check_bounds(__func__, min_value, max_value);
    if (st != CNN_STATUS_SUCCESS) return st;
    st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->clip(context, count, input, min_value, max_value, output);
}

cnn_status cnn_clip_backward(cnn_context* context, int64_t count, const float* input,
                             const float* grad_output, float min_value, float max_value,
                             float* grad_input, int32_t accumulate) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    cnn_status st = check_bounds(__func__, min_value, max_value);
    if (st != CNN_STATUS_SUCCESS) return st;
    const cnn_named_buffer outputs[1] = {{"grad_input", grad_input, count}};
    const cnn_named_buffer inputs[2] = {{"input", input, count}, {"grad_output", grad_output, count}};
    st = cnn_check_outputs_disjoint(__func__, outputs, 1, inputs, 2);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->clip_backward(context, count, input, grad_output, min_value,
                                           max_value, grad_input, accumulate);
}
