/* activation.c — cnn_activation_forward (in-place allowed) and cnn_activation_backward
 * (grad_input disjoint from output and grad_output): validation and dispatch. */
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

cnn_status cnn_activation_backward(cnn_context* context, cnn_activation activation, int64_t count,
                                   const float* output, const float* grad_output,
                                   int32_t accumulate, float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_ACTIVATION(activation);
    CNN_CHECK_RANGE("count", count, 1, INT64_MAX);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t checked = 0;
    if (!cnn_checked_product(__func__, "count", &checked, 1, count))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_named_buffer outputs[1] = {{"grad_input", grad_input, count}};
    const cnn_named_buffer inputs[2] = {{"output", output, count},
                                        {"grad_output", grad_output, count}};
    const cnn_status st = cnn_check_outputs_disjoint(__func__, outputs, 1, inputs, 2);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->activation_backward(context, activation, count, output, grad_output,
                                                 accumulate, grad_input);
}
