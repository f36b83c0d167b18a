/*
 * pool2d.c — cnn_pool2d_output_size, cnn_pool2d_forward and cnn_pool2d_backward: validation,
 * output size, dispatch (backward: input needed for max and LP, output unused and nullable,
 * grad_input disjoint from every other buffer).
 * Rules follow PyTorch 1.13 (max_pool2d / avg_pool2d / lp_pool2d):
 *  - sizes, kernel, stride, dilation >= 1; padding >= 0 and at most kernel/2 per axis (torch
 *    compares with the kernel size, not the dilated one: "pad should be at most half of kernel
 *    size"); dilation must be 1 for average and LP; LP takes no padding and 0 < p < inf;
 *  - ceil_mode and count_include_pad are 0 or 1, divisor_override >= 0 (0 = none);
 *  - out = floor_or_ceil((in + 2*pad - dilation*(k-1) - 1) / stride) + 1, and with ceil_mode the
 *    last window must start inside the input or the left padding:
 *    if (out-1)*stride >= in + pad then out -= 1. The result must be >= 1.
 */
#include <math.h>
#include <stdint.h>

#include "cnn_internal.h"
#include "overlap.h"

/* Range check naming the public function `fn` (the shared validator runs for both). */
#define POOL_CHECK_RANGE(fn, name, value, lo, hi)                                                  \
    do {                                                                                           \
        long long v_ = (long long)(value);                                                         \
        if (v_ < (long long)(lo) || v_ > (long long)(hi))                                          \
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,                                      \
                                 "%s: params->%s = %lld is out of range [%lld, %lld]", fn, name,   \
                                 v_, (long long)(lo), (long long)(hi));                            \
    } while (0)

static const char* kind_name(cnn_pool_kind kind) {
    return kind == CNN_POOL_MAX ? "max" : kind == CNN_POOL_AVERAGE ? "average" : "LP";
}

/* One axis: padding rule and output size. */
static cnn_status pool_output_dim(const char* fn, const char* axis, int32_t in, int32_t kernel,
                                  int32_t stride, int32_t pad, int32_t dilation, int32_t ceil_mode,
                                  int32_t* out) {
    if (pad > kernel / 2)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: params->pad_%s = %d must be at most half the kernel size "
                             "(kernel_%s / 2 = %d / 2 = %d)",
                             fn, axis, pad, axis, kernel, kernel / 2);
    const int64_t span = (int64_t)in + 2 * (int64_t)pad - (int64_t)dilation * (kernel - 1) - 1 +
                         (ceil_mode ? stride - 1 : 0);
    /* floor division (span may be negative) */
    int64_t size = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
    if (ceil_mode && (size - 1) * stride >= (int64_t)in + pad) size--;
    if (size < 1)
        return cnn_set_error(
            CNN_STATUS_INVALID_ARGUMENT,
            "%s: output %s would be %lld (< 1): in_%s = %d, padding %d, kernel %d, "
            "dilation %d, stride %d, ceil_mode %d",
            fn, axis, (long long)size, axis, in, pad, kernel, dilation, stride, ceil_mode);
    if (size > INT32_MAX)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT, "%s: output %s = %lld exceeds %d", fn,
                             axis, (long long)size, INT32_MAX);
    *out = (int32_t)size;
    return CNN_STATUS_SUCCESS;
}

static cnn_status validate_pool2d_params(const char* fn, const cnn_pool2d_params* p,
                                         int32_t* out_height, int32_t* out_width) {
    POOL_CHECK_RANGE(fn, "kind", (int)p->kind, CNN_POOL_MAX, CNN_POOL_LP);
    POOL_CHECK_RANGE(fn, "batch", p->batch, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "channels", p->channels, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "in_height", p->in_height, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "in_width", p->in_width, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "kernel_height", p->kernel_height, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "kernel_width", p->kernel_width, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "stride_height", p->stride_height, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "stride_width", p->stride_width, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "pad_height", p->pad_height, 0, INT32_MAX);
    POOL_CHECK_RANGE(fn, "pad_width", p->pad_width, 0, INT32_MAX);
    POOL_CHECK_RANGE(fn, "dilation_height", p->dilation_height, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "dilation_width", p->dilation_width, 1, INT32_MAX);
    POOL_CHECK_RANGE(fn, "ceil_mode", p->ceil_mode, 0, 1);
    POOL_CHECK_RANGE(fn, "count_include_pad", p->count_include_pad, 0, 1);
    POOL_CHECK_RANGE(fn, "divisor_override", p->divisor_override, 0, INT32_MAX);

    if (p->kind != CNN_POOL_MAX && (p->dilation_height != 1 || p->dilation_width != 1))
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: %s pooling takes no dilation, but params->dilation_height = %d "
                             "and params->dilation_width = %d (expected 1 and 1)",
                             fn, kind_name(p->kind), p->dilation_height, p->dilation_width);
    if (p->kind == CNN_POOL_LP) {
        if (p->pad_height != 0 || p->pad_width != 0)
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "%s: LP pooling takes no padding, but params->pad_height = %d and "
                                 "params->pad_width = %d (expected 0 and 0)",
                                 fn, p->pad_height, p->pad_width);
        if (!(p->norm_type > 0.0f) || isinf(p->norm_type))
            return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                                 "%s: params->norm_type = %g must be finite and > 0 for LP pooling",
                                 fn, (double)p->norm_type);
    }

    int32_t oh = 0, ow = 0;
    cnn_status st = pool_output_dim(fn, "height", p->in_height, p->kernel_height, p->stride_height,
                                    p->pad_height, p->dilation_height, p->ceil_mode, &oh);
    if (st != CNN_STATUS_SUCCESS) return st;
    st = pool_output_dim(fn, "width", p->in_width, p->kernel_width, p->stride_width, p->pad_width,
                         p->dilation_width, p->ceil_mode, &ow);
    if (st != CNN_STATUS_SUCCESS) return st;

    int64_t count = 0;
    if (!cnn_checked_product(fn, "input (batch*channels*in_height*in_width)", &count, 4,
                             (int64_t)p->batch, (int64_t)p->channels, (int64_t)p->in_height,
                             (int64_t)p->in_width))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "output (batch*channels*out_height*out_width)", &count, 4,
                             (int64_t)p->batch, (int64_t)p->channels, (int64_t)oh, (int64_t)ow))
        return CNN_STATUS_INVALID_ARGUMENT;
    if (!cnn_checked_product(fn, "kernel window (kernel_height*kernel_width)", &count, 2,
                             (int64_t)p->kernel_height, (int64_t)p->kernel_width))
        return CNN_STATUS_INVALID_ARGUMENT;
    *out_height = oh;
    *out_width = ow;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_pool2d_output_size(const cnn_pool2d_params* params, int32_t* out_height,
                                  int32_t* out_width) {
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(out_height);
    CNN_CHECK_NOT_NULL(out_width);
    int32_t oh = 0, ow = 0;
    cnn_status st = validate_pool2d_params(__func__, params, &oh, &ow);
    if (st != CNN_STATUS_SUCCESS) return st;
    *out_height = oh;
    *out_width = ow;
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_pool2d_forward(cnn_context* context, const cnn_pool2d_params* params,
                              const float* input, float* output) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(input);
    CNN_CHECK_NOT_NULL(output);
    int32_t oh = 0, ow = 0;
    cnn_status st = validate_pool2d_params(__func__, params, &oh, &ow);
    if (st != CNN_STATUS_SUCCESS) return st;

    const int64_t planes = (int64_t)params->batch * params->channels;
    st = cnn_check_disjoint(__func__, "input", input, planes * params->in_height * params->in_width,
                            output, planes * oh * ow);
    if (st != CNN_STATUS_SUCCESS) return st;

    /* A private copy: kernels may read params from worker threads. */
    const cnn_pool2d_params p = *params;
    return context->kernels->pool2d(context, &p, oh, ow, input, output);
}

/* Gradient of cnn_pool2d_forward. input is needed by max and LP (NULL allowed for average);
 * output is not read (LP recomputes the window means from input, as torch's autograd does). */
cnn_status cnn_pool2d_backward(cnn_context* context, const cnn_pool2d_params* params,
                               const float* input, const float* output, const float* grad_output,
                               int32_t accumulate, float* grad_input) {
    CNN_CHECK_NOT_NULL(context);
    CNN_CHECK_NOT_NULL(params);
    CNN_CHECK_NOT_NULL(grad_output);
    CNN_CHECK_NOT_NULL(grad_input);
    CNN_CHECK_ACCUMULATE(accumulate);
    int32_t oh = 0, ow = 0;
    cnn_status st = validate_pool2d_params(__func__, params, &oh, &ow);
    if (st != CNN_STATUS_SUCCESS) return st;
    if (params->kind != CNN_POOL_AVERAGE && input == NULL)
        return cnn_set_error(CNN_STATUS_INVALID_ARGUMENT,
                             "%s: argument 'input' is NULL (%s pooling needs the forward input)",
                             __func__, kind_name(params->kind));

    const int64_t planes = (int64_t)params->batch * params->channels;
    const int64_t in_count = planes * params->in_height * params->in_width;
    const int64_t out_count = planes * oh * ow;
    const cnn_named_buffer outputs[1] = {{"grad_input", grad_input, in_count}};
    const cnn_named_buffer inputs[3] = {{"input", input, in_count},
                                        {"output", output, out_count},
                                        {"grad_output", grad_output, out_count}};
    st = cnn_check_outputs_disjoint(__func__, outputs, 1, inputs, 3);
    if (st != CNN_STATUS_SUCCESS) return st;

    const cnn_pool2d_params p = *params;
    return context->kernels->pool2d_backward(context, &p, oh, ow, input, output, grad_output,
                                             accumulate, grad_input);
}
