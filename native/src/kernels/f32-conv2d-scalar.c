/* f32-conv2d-scalar.c — the reference 2D convolution (the readable spec every other path is
 * tested against). PyTorch semantics: cross-correlation, OIHW weights, groups, dilation,
 * asymmetric zero padding, optional bias, fused activation.
 *
 *   out[n, oc, oh, ow] = act(bias[oc] + sum_{ic, kh, kw} in[n, g*ICg + ic, ih, iw] * w[oc, ic, kh,
 * kw]) with g = oc / OCg, ih = oh*stride_h - pad_top + kh*dilation_h, iw likewise (outside = 0).
 *
 * The sum is accumulated in float in (ic, kh, kw) order, then the bias is added. Threads split
 * the (batch * out_channels) output planes; each plane is computed by exactly one thread. */
#include "cnn_internal.h"

typedef struct {
    const cnn_conv2d_params* p;
    int64_t out_height, out_width;
    const float* input;
    const float* weight;
    const float* bias;
    cnn_activation activation;
    float* output;
} conv2d_scalar_job;

static void conv2d_scalar_planes(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const conv2d_scalar_job* job = (const conv2d_scalar_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width;
    const int64_t kh_n = p->kernel_height, kw_n = p->kernel_width;
    const int64_t ic_per_group = p->in_channels / p->groups;
    const int64_t oc_per_group = p->out_channels / p->groups;
    const int64_t oh_n = job->out_height, ow_n = job->out_width;

    for (int64_t plane = begin; plane < end; plane++) {
        const int64_t n = plane / p->out_channels;
        const int64_t oc = plane % p->out_channels;
        const int64_t g = oc / oc_per_group;
        const float* in_group = job->input + (n * p->in_channels + g * ic_per_group) * in_h * in_w;
        const float* w_oc = job->weight + oc * ic_per_group * kh_n * kw_n;
        float* out_plane = job->output + plane * oh_n * ow_n;
        const float b = job->bias != NULL ? job->bias[oc] : 0.0f;

        for (int64_t oh = 0; oh < oh_n; oh++) {
            for (int64_t ow = 0; ow < ow_n; ow++) {
                float acc = 0.0f;
                for (int64_t ic = 0; ic < ic_per_group; ic++) {
                    for (int64_t kh = 0; kh < kh_n; kh++) {
                        const int64_t ih =
                            oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                        if (ih < 0 || ih >= in_h) continue; /* zero padding */
                        for (int64_t kw = 0; kw < kw_n; kw++) {
                            const int64_t iw =
                                ow * p->stride_width - p->pad_left + kw * p->dilation_width;
                            if (iw < 0 || iw >= in_w) continue; /* zero padding */
                            acc += in_group[(ic * in_h + ih) * in_w + iw] *
                                   w_oc[(ic * kh_n + kh) * kw_n + kw];
                        }
                    }
                }
                out_plane[oh * ow_n + ow] = cnn_activation_scalar_apply(job->activation, acc + b);
            }
        }
    }
}

cnn_status cnn_f32_conv2d_scalar(cnn_context* ctx, const cnn_conv2d_params* p, int32_t out_height,
                                 int32_t out_width, const float* input, const float* weight,
                                 const float* bias, cnn_activation activation, float* output) {
    conv2d_scalar_job job = {p, out_height, out_width, input, weight, bias, activation, output};
    cnn_parallel_for(ctx, (int64_t)p->batch * p->out_channels, 1, conv2d_scalar_planes, &job);
    return CNN_STATUS_SUCCESS;
}
