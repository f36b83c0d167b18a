/* softmax.c — cnn_softmax_forward and cnn_softmax_backward: validation and dispatch. Softmax (or
 * log-softmax) over the middle axis of [outer, classes, inner]; the forward may run in place, the
 * backward's grad_input must be disjoint from output and grad_output. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_softmax_forward(cnn_context* context, int32_t outer, int32_t classes, int32_t inner,
                               int32_t log_softmax, const float* input, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("outer", outer, 1, INT32_MAX);
    CNN_CHECK_RANGE("classes", classes, 1, INT32_MAX);
    CNN_CHECK_RANGE("inner", inner, 1, INT32_MAX);
    CNN_CHECK_RANGE("log_softmax", log_softmax, 0, 1);
    int64_t count = 0;
    if (!cnn_checked_product(__func__, "tensor (outer*classes*inner)", &count, 3, (int64_t)outer,
                             (int64_t)classes, (int64_t)inner))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_status st = cnn_check_same_or_disjoint(__func__, "input", input, output, count);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->softmax(context, outer, classes, inner, log_softmax, input, output);
}

cnn_status cnn_softmax_backward(cnn_context* context, int32_t outer, int32_t classes,
                                int32_t inner, int32_t log_softmax, const float* output,
                                const float* grad_output, int32_t accumulate,
                                float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("outer", outer, 1, INT32_MAX);
    CNN_CHECK_RANGE("classes", classes, 1, INT32_MAX);
    CNN_CHECK_RANGE("inner", inner, 1, INT32_MAX);
    CNN_CHECK_RANGE("log_softmax", log_softmax, 0, 1);
    CNN_CHECK_ACCUMULATE(accumulate);
    int64_t count = 0;
    if (!cnn_checked_product(__func__, "tensor (outer*classes*inner)", &count, 3, (int64_t)outer,
                             (int64_t)classes, (int64_t)inner))
        return CNN_STATUS_INVALID_ARGUMENT;
    const cnn_named_buffer outputs[1] = {{"grad_input", grad_input, count}};
    const cnn_named_buffer inputs[2] = {{"output", output, count},
                                        {"grad_output", grad_output, count}};
    const cnn_status st = cnn_check_outputs_disjoint(__func__, outputs, 1, inputs, 2);
    if (st != CNN_STATUS_SUCCESS) return st;
    return context->kernels->softmax_backward(context, outer, classes, inner, log_softmax, output,
                                              grad_output, accumulate, grad_input);
}
