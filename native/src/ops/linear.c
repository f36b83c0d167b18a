/* linear.c — cnn_linear_forward: validation and dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

cnn_status cnn_linear_forward(cnn_context* context, int32_t batch, int32_t in_features,
                              int32_t out_features, const float* input, const float* weight,
                              const float* bias, cnn_activation activation, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_RANGE("batch", batch, 1, INT32_MAX);
    CNN_CHECK_RANGE("in_features", in_features, 1, INT32_MAX);
    CNN_CHECK_RANGE("out_features", out_features, 1, INT32_MAX);
    CNN_CHECK_ACTIVATION(activation);
    int64_t in_count = 0, w_count = 0, out_count = 0;
    if (!cnn_checked_product(__func__, "input (batch*in_features)", &in_count, 2, (int64_t)batch,
                             (int64_t)in_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(__func__, "weight (out_features*in_features)", &w_count, 2,
                             (int64_t)out_features, (int64_t)in_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(__func__, "output (batch*out_features)", &out_count, 2, (int64_t)batch,
                             (int64_t)out_features))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (cnn_float_ranges_overlap(output, out_count, input, in_count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output [%p, %lld floats] overlaps input [%p, %lld floats]",
                             __func__, (void*)output, (long long)out_count, (const void*)input,
                             (long long)in_count);
    if (cnn_float_ranges_overlap(output, out_count, weight, w_count))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output [%p, %lld floats] overlaps weight [%p, %lld floats]",
                             __func__, (void*)output, (long long)out_count, (const void*)weight,
                             (long long)w_count);
    if (bias != NULL && cnn_float_ranges_overlap(output, out_count, bias, out_features))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output [%p, %lld floats] overlaps bias [%p, %d floats]", __func__,
                             (void*)output, (long long)out_count, (const void*)bias, out_features);
    return context->kernels->linear(context, batch, in_features, out_features, input, weight, bias,
                                    activation, output);
}
