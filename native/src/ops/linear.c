/* linear.c — cnn_linear_forward and its backward passes (cnn_linear_backward_data,
 * cnn_linear_backward_weights): one shared shape validator, overlap checks, dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

/* Element counts of the tensors of a validated linear layer. */
typedef struct {
    int64_t input, weight, output;
} linear_counts;

/* Range-checks the sizes (naming the public function) and every element count. */
static cnn_status validate_linear(const char* fn, int32_t batch, int32_t in_features,
                                  int32_t out_features, linear_counts* c) {
    static const char* const names[3] = {"batch", "in_features", "out_features"};
    const int32_t values[3] = {batch, in_features, out_features};
    for (int i = 0; i < 3; i++)
        if (values[i] < 1)
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "%s: %s = %d is out of range [1, %d]", fn, names[i],
                                 values[i], INT32_MAX);
    if (!cnn_checked_product(fn, "input (batch*in_features)", &c->input, 2, (int64_t)batch,
                             (int64_t)in_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "weight (out_features*in_features)", &c->weight, 2,
                             (int64_t)out_features, (int64_t)in_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "output (batch*out_features)", &c->output, 2, (int64_t)batch,
                             (int64_t)out_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_linear_forward(cnn_context* context, int32_t batch, int32_t in_features,
                              int32_t out_features, const float* input, const float* weight,
                              const float* bias, cnn_activation activation, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_ACTIVATION(activation);
    linear_counts c;
    cnn_status st = validate_linear(__func__, batch, in_features, out_features, &c);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("output", output, c.output, "input", input, c.input);
    CNN_CHECK_FLOATS_DISJOINT("output", output, c.output, "weight", weight, c.weight);
    if (bias != NULL)
        CNN_CHECK_FLOATS_DISJOINT("output", output, c.output, "bias", bias, (int64_t)out_features);
    return context->kernels->linear(context, batch, in_features, out_features, input, weight, bias,
                                    activation, output);
}

cnn_status cnn_linear_backward_data(cnn_context* context, int32_t batch, int32_t in_features,
                                    int32_t out_features, const float* grad_output,
                                    const float* weight, int32_t accumulate, float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("accumulate", accumulate, 0, 1);
    linear_counts c;
    cnn_status st = validate_linear(__func__, batch, in_features, out_features, &c);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("grad_input", grad_input, c.input, "grad_output", grad_output,
                              c.output);
    CNN_CHECK_FLOATS_DISJOINT("grad_input", grad_input, c.input, "weight", weight, c.weight);
    return context->kernels->linear_backward_data(context, batch, in_features, out_features,
                                                  grad_output, weight, accumulate, grad_input);
}

cnn_status cnn_linear_backward_weights(cnn_context* context, int32_t batch, int32_t in_features,
                                       int32_t out_features, const float* input,
                                       const float* grad_output, int32_t accumulate,
                                       float* grad_weight, float* grad_bias) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_weight);
    CNN_CHECK_RANGE("accumulate", accumulate, 0, 1);
    linear_counts c;
    cnn_status st = validate_linear(__func__, batch, in_features, out_features, &c);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("grad_weight", grad_weight, c.weight, "input", input, c.input);
    CNN_CHECK_FLOATS_DISJOINT("grad_weight", grad_weight, c.weight, "grad_output", grad_output,
                              c.output);
    if (grad_bias != NULL) {
        const int64_t o = out_features;
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, o, "input", input, c.input);
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, o, "grad_output", grad_output, c.output);
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, o, "grad_weight", grad_weight, c.weight);
    }
    return context->kernels->linear_backward_weights(context, batch, in_features, out_features,
                                                     input, grad_output, accumulate, grad_weight,
                                                     grad_bias);
}
