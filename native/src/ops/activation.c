/* activation.c — cnn_activation_forward (in-place allowed), cnn_activation_backward
 * (from the output) and cnn_activation_backward_from_input (grad_input disjoint from both
 * operands): validation and dispatch. */
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

/* The checks shared by the two backward entry points (a macro so that __func__ and the names
 * in the messages are the caller's); `values` is the saved forward tensor. */
#define CHECK_BACKWARD_ARGS(values)                                                            \
    do {                                                                                       \
        CNN_CHECK_NOT_NULL(context);                                                           \
        CNN_CHECK_NOT_NULL(values);                                                            \
        CNN_CHECK_NOT_NULL(grad_output);                                                       \
        CNN_CHECK_NOT_NULL(grad_input);                                                        \
        CNN_CHECK_ACTIVATION(activation);                                                      \
        CNN_CHECK_RANGE("count", count, 1, INT64_MAX);                                         \
        CNN_CHECK_ACCUMULATE(accumulate);                                                      \
        int64_t checked_ = 0;                                                                  \
        if (!cnn_checked_product(__func__, "count", &checked_, 1, count))                      \
            return CNN_STATUS_INVALID_ARGUMENT;                                                \
        const cnn_named_buffer outputs_[1] = {{"grad_input", grad_input, count}};              \
        const cnn_named_buffer inputs_[2] = {{#values, values, count},                         \
                                             {"grad_output", grad_output, count}};             \
        const cnn_status st_ = cnn_check_outputs_disjoint(__func__, outputs_, 1, inputs_, 2);  \
        if (st_ != CNN_STATUS_SUCCESS) return st_;                                             \
    } while (0)

cnn_status cnn_activation_backward(cnn_context* context, cnn_activation activation, int64_t count,
                                   const float* output, const float* grad_output,
                                   int32_t accumulate, float* grad_input) {
    CHECK_BACKWARD_ARGS(output);
    if (activation > CNN_ACTIVATION_RELU6)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: activation = %d has no gradient from its output (only none, "
                             "ReLU, sigmoid, tanh, ReLU6 do); use "
                             "cnn_activation_backward_from_input",
                             __func__, (int)activation);
    return context->kernels->activation_backward(context, activation, count, output, grad_output,
                                                 accumulate, grad_input);
}

cnn_status cnn_activation_backward_from_input(cnn_context* context, cnn_activation activation,
                                              int64_t count, const float* input,
                                              const float* grad_output, int32_t accumulate,
                                              float* grad_input) {
    CHECK_BACKWARD_ARGS(input);
    return context->kernels->activation_backward_from_input(context, activation, count, input,
                                                            grad_output, accumulate, grad_input);
}
