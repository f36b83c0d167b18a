/* f32-conv2d-backward-scalar.c — the reference gradients of the 2D convolution (the readable
 * spec the AVX2 kernels are tested against; PyTorch semantics incl. stride, asymmetric padding,
 * dilation and groups). With g = oc / OCg, ih = oh*stride_h - pad_top + kh*dilation_h and iw
 * likewise (taps outside the input are the zero padding and get no gradient):
 *
 *   grad_input[n, g*ICg + ic, ih, iw] = sum_{oc in group g, kh, kw : (oh, ow) integral, in range}
 *                                         grad_output[n, oc, oh, ow] * w[oc, ic, kh, kw]
 *   grad_weight[oc, ic, kh, kw] = sum_{n, oh, ow} grad_output[n, oc, oh, ow]
 *                                                   * in[n, g*ICg + ic, ih, iw]
 *   grad_bias[oc]               = sum_{n, oh, ow} grad_output[n, oc, oh, ow]
 *
 * accumulate = 1 adds the result to the buffer, 0 overwrites it. The data gradient is summed in
 * float in (oc, kh, kw) order; the weight and bias gradients, sums over the whole batch and every
 * position, in double (in (n, oh, ow) order) then rounded once. Threads split input planes
 * (n, c) for the data gradient and output channels for the weight gradient: every result element
 * is computed by exactly one thread, so results do not depend on the thread count. */
#include "cnn_internal.h"

typedef struct {
    const cnn_conv2d_params* p;
    int64_t out_height, out_width;
    const float* a; /* data: grad_output; weights: input */
    const float* b; /* data: weight;      weights: grad_output */
    int32_t accumulate;
    float* grad; /* data: grad_input;  weights: grad_weight */
    float* grad_bias;
} conv2d_backward_scalar_job;

/* Output position o whose tap k lands on input position i: i = o*stride - pad + k*dilation.
 * Returns 0 if there is none (not integral or out of [0, out_size)). */
static int source_position(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                           int64_t out_size, int64_t* o) {
    const int64_t num = i + pad - k * dilation;
    if (num < 0 || num % stride != 0) return 0;
    *o = num / stride;
    return *o < out_size;
}

static void backward_data_planes(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const conv2d_backward_scalar_job* job = (const conv2d_backward_scalar_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width;
    const int64_t kh_n = p->kernel_height, kw_n = p->kernel_width;
    const int64_t icg = p->in_channels / p->groups, ocg = p->out_channels / p->groups;
    const int64_t oh_n = job->out_height, ow_n = job->out_width;
    for (int64_t plane = begin; plane < end; plane++) {
        const int64_t n = plane / p->in_channels, c = plane % p->in_channels;
        const int64_t g = c / icg, ic = c % icg;
        const float* dy = job->a + (n * p->out_channels + g * ocg) * oh_n * ow_n;
        const float* w = job->b + (g * ocg * icg + ic) * kh_n * kw_n; /* w[g*OCg, ic, 0, 0] */
        float* dx = job->grad + plane * in_h * in_w;
        for (int64_t ih = 0; ih < in_h; ih++) {
            for (int64_t iw = 0; iw < in_w; iw++) {
                float acc = 0.0f;
                for (int64_t oc = 0; oc < ocg; oc++) {
                    for (int64_t kh = 0; kh < kh_n; kh++) {
                        int64_t oh;
                        if (!source_position(ih, kh, p->stride_height, p->pad_top,
                                             p->dilation_height, oh_n, &oh))
                            continue;
                        for (int64_t kw = 0; kw < kw_n; kw++) {
                            int64_t ow;
                            if (!source_position(iw, kw, p->stride_width, p->pad_left,
                                                 p->dilation_width, ow_n, &ow))
                                continue;
                            acc += dy[(oc * oh_n + oh) * ow_n + ow] *
                                   w[(oc * icg * kh_n + kh) * kw_n + kw];
                        }
                    }
                }
                float* d = dx + ih * in_w + iw;
                *d = job->accumulate ? *d + acc : acc;
            }
        }
    }
}

cnn_status cnn_f32_conv2d_backward_data_scalar(cnn_context* ctx, const cnn_conv2d_params* p,
                                               int32_t out_height, int32_t out_width,
                                               const float* grad_output, const float* weight,
                                               int32_t accumulate, float* grad_input) {
    conv2d_backward_scalar_job job = {p,      out_height, out_width,  grad_output,
                                      weight, accumulate, grad_input, NULL};
    cnn_parallel_for(ctx, (int64_t)p->batch * p->in_channels, 1, backward_data_planes, &job);
    return CNN_STATUS_SUCCESS;
}

static void backward_weights_channels(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const conv2d_backward_scalar_job* job = (const conv2d_backward_scalar_job*)arg;
    const cnn_conv2d_params* p = job->p;
    const int64_t in_h = p->in_height, in_w = p->in_width;
    const int64_t kh_n = p->kernel_height, kw_n = p->kernel_width;
    const int64_t icg = p->in_channels / p->groups, ocg = p->out_channels / p->groups;
    const int64_t oh_n = job->out_height, ow_n = job->out_width;
    for (int64_t oc = begin; oc < end; oc++) {
        const int64_t g = oc / ocg;
        for (int64_t ic = 0; ic < icg; ic++) {
            for (int64_t kh = 0; kh < kh_n; kh++) {
                for (int64_t kw = 0; kw < kw_n; kw++) {
                    double acc = 0.0;
                    for (int64_t n = 0; n < p->batch; n++) {
                        const float* x =
                            job->a + ((n * p->in_channels + g * icg + ic) * in_h) * in_w;
                        const float* dy = job->b + (n * p->out_channels + oc) * oh_n * ow_n;
                        for (int64_t oh = 0; oh < oh_n; oh++) {
                            const int64_t ih =
                                oh * p->stride_height - p->pad_top + kh * p->dilation_height;
                            if (ih < 0 || ih >= in_h) continue;
                            for (int64_t ow = 0; ow < ow_n; ow++) {
                                const int64_t iw =
                                    ow * p->stride_width - p->pad_left + kw * p->dilation_width;
                                if (iw < 0 || iw >= in_w) continue;
                                acc += (double)dy[oh * ow_n + ow] * (double)x[ih * in_w + iw];
                            }
                        }
                    }
                    float* d = job->grad + ((oc * icg + ic) * kh_n + kh) * kw_n + kw;
                    *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
                }
            }
        }
        if (job->grad_bias != NULL) {
            double acc = 0.0;
            for (int64_t n = 0; n < p->batch; n++) {
                const float* dy = job->b + (n * p->out_channels + oc) * oh_n * ow_n;
                for (int64_t i = 0; i < oh_n * ow_n; i++) acc += dy[i];
            }
            float* d = job->grad_bias + oc;
            *d = job->accumulate ? (float)((double)*d + acc) : (float)acc;
        }
    }
}

cnn_status cnn_f32_conv2d_backward_weights_scalar(cnn_context* ctx, const cnn_conv2d_params* p,
                                                  int32_t out_height, int32_t out_width,
                                                  const float* input, const float* grad_output,
                                                  int32_t accumulate, float* grad_weight,
                                                  float* grad_bias) {
    conv2d_backward_scalar_job job = {p,           out_height, out_width,   input,
                                      grad_output, accumulate, grad_weight, grad_bias};
    cnn_parallel_for(ctx, p->out_channels, 1, backward_weights_channels, &job);
    return CNN_STATUS_SUCCESS;
}
