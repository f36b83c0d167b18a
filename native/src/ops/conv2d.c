/* conv2d.c — cnn_conv2d_output_size, cnn_conv2d_forward and the backward passes
 * (cnn_conv2d_backward_data, cnn_conv2d_backward_weights): one shared validator, output size,
 * overlap checks, dispatch. */
#include <stdint.h>

#include "cnn_internal.h"
#include "conv2d_validate.h"
#include "kernels/f32-conv2d-backward-flip.h"
#include "overlap.h"

/* Range check that names the public function (the shared validator runs on behalf of both). */
#define CONV_CHECK_RANGE(fn, name, value, lo, hi)                                                \
    do {                                                                                         \
        long long v_ = (long long)(value);                                                       \
        if (v_ < (long long)(lo) || v_ > (long long)(hi))                                        \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                    \
                                 "%s: params->%s = %lld is out of range [%lld, %lld]", fn, name, \
                                 v_, (long long)(lo), (long long)(hi));                          \
    } while (0)

/* One output dimension: floor((in + pad_before + pad_after - dilation*(kernel-1) - 1) / stride)
 * + 1. All inputs are already range-checked int32 values, so int64 arithmetic cannot overflow. */
static cnn_status conv_output_dim(const char* fn, const char* dim, int32_t in, int32_t pad_before,
                                  int32_t pad_after, int32_t kernel, int32_t stride,
                                  int32_t dilation, int32_t* out) {
    int64_t padded = (int64_t)in + pad_before + pad_after;
    int64_t effective_kernel = (int64_t)dilation * (kernel - 1) + 1;
    int64_t span = padded - effective_kernel;
    if (span < 0)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output %s would be < 1: in_%s (%d) + padding (%d + %d) = %lld is "
                             "smaller than the dilated kernel dilation*(kernel-1)+1 = %d*(%d-1)+1 "
                             "= %lld",
                             fn, dim, dim, in, pad_before, pad_after, (long long)padded, dilation,
                             kernel, (long long)effective_kernel);
    int64_t size = span / stride + 1;
    if (size > INT32_MAX)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: output %s = floor((%lld - %lld) / %d) + 1 = %lld exceeds %d", fn,
                             dim, (long long)padded, (long long)effective_kernel, stride,
                             (long long)size, INT32_MAX);
    *out = (int32_t)size;
    return CNN_STATUS_SUCCESS;
}

/* Validates every field of params (and every size product); on success returns the output size
 * and the element counts. */
cnn_status cnn_conv2d_validate(const char* fn, const cnn_conv2d_params* p,
                               int32_t* out_height, int32_t* out_width, conv2d_counts* counts) {
    CONV_CHECK_RANGE(fn, "batch", p->batch, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "in_channels", p->in_channels, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "in_height", p->in_height, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "in_width", p->in_width, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "out_channels", p->out_channels, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "kernel_height", p->kernel_height, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "kernel_width", p->kernel_width, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "stride_height", p->stride_height, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "stride_width", p->stride_width, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "pad_top", p->pad_top, 0, INT32_MAX);
    CONV_CHECK_RANGE(fn, "pad_bottom", p->pad_bottom, 0, INT32_MAX);
    CONV_CHECK_RANGE(fn, "pad_left", p->pad_left, 0, INT32_MAX);
    CONV_CHECK_RANGE(fn, "pad_right", p->pad_right, 0, INT32_MAX);
    CONV_CHECK_RANGE(fn, "dilation_height", p->dilation_height, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "dilation_width", p->dilation_width, 1, INT32_MAX);
    CONV_CHECK_RANGE(fn, "groups", p->groups, 1, INT32_MAX);
    if (p->in_channels % p->groups != 0)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: groups = %d must divide in_channels = %d", fn, p->groups,
                             p->in_channels);
    if (p->out_channels % p->groups != 0)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: groups = %d must divide out_channels = %d", fn, p->groups,
                             p->out_channels);

    int32_t oh = 0, ow = 0;
    cnn_status st = conv_output_dim(fn, "height", p->in_height, p->pad_top, p->pad_bottom,
                                    p->kernel_height, p->stride_height, p->dilation_height, &oh);
    if (st != CNN_STATUS_SUCCESS) return st;
    st = conv_output_dim(fn, "width", p->in_width, p->pad_left, p->pad_right, p->kernel_width,
                         p->stride_width, p->dilation_width, &ow);
    if (st != CNN_STATUS_SUCCESS) return st;

    /* Every tensor, and the padded input plane the depthwise kernel stages, must be addressable. */
    int64_t count = 0;
    if (!cnn_checked_product(fn, "input (batch*in_channels*in_height*in_width)", &counts->input, 4,
                             (int64_t)p->batch, (int64_t)p->in_channels, (int64_t)p->in_height,
                             (int64_t)p->in_width))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(
            fn, "weight (out_channels*(in_channels/groups)*kernel_height*kernel_width)",
            &counts->weight, 4, (int64_t)p->out_channels, (int64_t)(p->in_channels / p->groups),
            (int64_t)p->kernel_height, (int64_t)p->kernel_width))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "output (batch*out_channels*out_height*out_width)",
                             &counts->output, 4, (int64_t)p->batch, (int64_t)p->out_channels,
                             (int64_t)oh, (int64_t)ow))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "padded input plane ((in_height+pads)*(in_width+pads))", &count, 2,
                             (int64_t)p->in_height + p->pad_top + p->pad_bottom,
                             (int64_t)p->in_width + p->pad_left + p->pad_right))
        return CNN_STATUS_INVALID_ARGUMENT;

    *out_height = oh;
    *out_width = ow;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_conv2d_output_size(const cnn_conv2d_params* params, int32_t* out_height,
                                  int32_t* out_width) {
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(out_height);
    CNN_CHECK_NOT_NULL(out_width);
    int32_t oh = 0, ow = 0;
    conv2d_counts counts;
    cnn_status st = cnn_conv2d_validate(__func__, params, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;
    *out_height = oh;
    *out_width = ow;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_conv2d_forward(cnn_context* context, const cnn_conv2d_params* params,
                              const float* input, const float* weight, const float* bias,
                              cnn_activation activation, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(output);
    CNN_CHECK_ACTIVATION(activation);
    int32_t oh = 0, ow = 0;
    conv2d_counts counts;
    cnn_status st = cnn_conv2d_validate(__func__, params, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("output", output, counts.output, "input", input, counts.input);
    CNN_CHECK_FLOATS_DISJOINT("output", output, counts.output, "weight", weight, counts.weight);
    if (bias != NULL)
        CNN_CHECK_FLOATS_DISJOINT("output", output, counts.output, "bias", bias,
                                  (int64_t)params->out_channels);
    return context->kernels->conv2d(context, params, oh, ow, input, weight, bias, activation,
                                    output);
}

/* ------------------------------------------------------------------------------- backward */

cnn_status cnn_conv2d_backward_data(cnn_context* context, const cnn_conv2d_params* params,
                                    const float* grad_output, const float* weight,
                                    int32_t accumulate, float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(weight);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_RANGE("accumulate", accumulate, 0, 1);
    int32_t oh = 0, ow = 0;
    conv2d_counts counts;
    cnn_status st = cnn_conv2d_validate(__func__, params, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;
    CNN_CHECK_FLOATS_DISJOINT("grad_input", grad_input, counts.input, "grad_output", grad_output,
                              counts.output);
    CNN_CHECK_FLOATS_DISJOINT("grad_input", grad_input, counts.input, "weight", weight,
                              counts.weight);
    if (context->isa != CNN_ISA_REFERENCE && cnn_f32_conv2d_backward_data_flip_suits(params))
        return cnn_f32_conv2d_backward_data_flip(context, params, oh, ow, grad_output, weight,
                                                 accumulate, grad_input);
    return context->kernels->conv2d_backward_data(context, params, oh, ow, grad_output, weight,
                                                  accumulate, grad_input);
}

cnn_status cnn_conv2d_backward_weights(cnn_context* context, const cnn_conv2d_params* params,
                                       const float* input, const float* grad_output,
                                       int32_t accumulate, float* grad_weight, float* grad_bias) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_weight);
    CNN_CHECK_RANGE("accumulate", accumulate, 0, 1);
    int32_t oh = 0, ow = 0;
    conv2d_counts counts;
    cnn_status st = cnn_conv2d_validate(__func__, params, &oh, &ow, &counts);
    if (st != CNN_STATUS_SUCCESS) return st;
    const int64_t oc = params->out_channels;
    CNN_CHECK_FLOATS_DISJOINT("grad_weight", grad_weight, counts.weight, "input", input,
                              counts.input);
    CNN_CHECK_FLOATS_DISJOINT("grad_weight", grad_weight, counts.weight, "grad_output", grad_output,
                              counts.output);
    if (grad_bias != NULL) {
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, oc, "input", input, counts.input);
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, oc, "grad_output", grad_output,
                                  counts.output);
        CNN_CHECK_FLOATS_DISJOINT("grad_bias", grad_bias, oc, "grad_weight", grad_weight,
                                  counts.weight);
    }
    return context->kernels->conv2d_backward_weights(context, params, oh, ow, input, grad_output,
                                                     accumulate, grad_weight, grad_bias);
}
