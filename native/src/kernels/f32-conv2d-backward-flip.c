/* f32-conv2d-backward-flip.c — the data gradient of a stride-1 convolution as a FORWARD
 * convolution, so it runs on the forward kernels of the context's ISA (Winograd, implicit GEMM,
 * direct) instead of GEMM + col2im.
 *
 * With stride 1, dX[n][ic][ih][iw] = sum over oc, kh, kw of
 *   dY[n][oc][ih + pad_top - d_h*kh][iw + pad_left - d_w*kw] * W[oc][ic][kh][kw]
 * which is a convolution of dY (channels OC) with W' [IC][OCg][KH][KW],
 *   W'[g*ICg + i][o][kh][kw] = W[g*OCg + o][i][KH-1-kh][KW-1-kw]
 * (in/out channels swapped within each group, both kernel axes reversed), same dilation and
 * groups, padding d*(K-1) - pad on each side (so pad <= d*(K-1) is required), output size = the
 * input size. W' lives in the context's outer scratch (the forward kernel uses the inner one);
 * with accumulate the forward writes into the outer scratch too and the add kernel adds it in. */
#include "f32-conv2d-backward-flip.h"

int cnn_conv2d_backward_data_flip_enabled = 1;

int cnn_f32_conv2d_backward_data_flip_suits(const cnn_conv2d_params* p) {
    if (!cnn_conv2d_backward_data_flip_enabled) return 0;
    if (p->stride_height != 1 || p->stride_width != 1) return 0;
    /* depthwise keeps its direct loops (f32-conv2d-backward-avx2.c) */
    if (p->groups > 1 && p->groups == p->in_channels) return 0;
    const int64_t reach_h = (int64_t)p->dilation_height * (p->kernel_height - 1);
    const int64_t reach_w = (int64_t)p->dilation_width * (p->kernel_width - 1);
    return p->pad_top <= reach_h && p->pad_bottom <= reach_h && p->pad_left <= reach_w &&
           p->pad_right <= reach_w;
}

/* W' from W (see the top): each [KH][KW] block is copied reversed, which flips both axes. */
static void flip_weights(const cnn_conv2d_params* p, const float* weight, float* flipped) {
    const int64_t taps = (int64_t)p->kernel_height * p->kernel_width;
    const int64_t icg = p->in_channels / p->groups, ocg = p->out_channels / p->groups;
    for (int64_t oc = 0; oc < p->out_channels; oc++) {
        const int64_t g = oc / ocg, o = oc % ocg;
        for (int64_t i = 0; i < icg; i++) {
            const float* src = weight + (oc * icg + i) * taps;
            float* dst = flipped + ((g * icg + i) * ocg + o) * taps;
            for (int64_t t = 0; t < taps; t++) dst[t] = src[taps - 1 - t];
        }
    }
}

cnn_status cnn_f32_conv2d_backward_data_flip(cnn_context* ctx, const cnn_conv2d_params* p,
                                             int32_t out_height, int32_t out_width,
                                             const float* grad_output, const float* weight,
                                             int32_t accumulate, float* grad_input) {
    const int64_t weight_floats = (int64_t)p->out_channels * (p->in_channels / p->groups) *
                                  p->kernel_height * p->kernel_width;
    const int64_t input_floats =
        (int64_t)p->batch * p->in_channels * p->in_height * p->in_width;
    /* keep the staged output 64-byte aligned behind the weights */
    const int64_t weight_span = (weight_floats + 15) / 16 * 16;
    float* outer = (float*)cnn_context_outer_scratch(
        ctx, (size_t)(weight_span + (accumulate ? input_floats : 0)) * sizeof(float));
    if (outer == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    flip_weights(p, weight, outer);

    cnn_conv2d_params q = *p;
    q.in_channels = p->out_channels;
    q.out_channels = p->in_channels;
    q.in_height = out_height;
    q.in_width = out_width;
    q.pad_top = p->dilation_height * (p->kernel_height - 1) - p->pad_top;
    q.pad_bottom = p->dilation_height * (p->kernel_height - 1) - p->pad_bottom;
    q.pad_left = p->dilation_width * (p->kernel_width - 1) - p->pad_left;
    q.pad_right = p->dilation_width * (p->kernel_width - 1) - p->pad_right;
    float* dst = accumulate ? outer + weight_span : grad_input;
    cnn_status st = ctx->kernels->conv2d(ctx, &q, p->in_height, p->in_width, grad_output, outer,
                                         NULL, CNN_ACTIVATION_NONE, dst);
    if (st != CNN_STATUS_SUCCESS || !accumulate) return st;
    return ctx->kernels->add(ctx, input_floats, grad_input, dst, CNN_ACTIVATION_NONE,
                             grad_input);
}
