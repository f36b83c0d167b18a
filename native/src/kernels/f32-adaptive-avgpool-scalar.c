/*
 * f32-adaptive-avgpool-scalar.c — adaptive average pooling to any output size and its gradient,
 * with torch's window bounds (aten/src/ATen/native/AdaptiveAveragePooling.cpp):
 *   start(o) = floor(o * in / out),  end(o) = ceil((o + 1) * in / out)
 * forward: output = (sum of the window, row-major) / kh / kw;
 * backward: every input of the window += grad_output / kh / kw.
 * Planes (batch * channels) are independent, so threads split them. Used by every ISA: the common
 * 1x1 case has its own vector op (global average pooling), other sizes are small.
 */
#include <string.h>

#include "ops-common.h"

typedef struct adaptive_avgpool_job {
    int32_t in_h, in_w, out_h, out_w;
    const float* src; /* forward: input; backward: grad_output */
    float* dst;       /* forward: output; backward: grad_input */
    int32_t backward;
    int32_t accumulate;
} adaptive_avgpool_job;

static inline int64_t window_start(int64_t o, int64_t out, int64_t in) {
    return (o / out) * in + ((o % out) * in) / out;
}

static inline int64_t window_end(int64_t o, int64_t out, int64_t in) {
    return 1 + ((o + 1) * in - 1) / out;
}

/* One plane: forward sums each window into its output; backward spreads each output gradient
 * over its window (the same window walk, so one loop serves both). */
static void pool_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    (void)thread_index;
    const adaptive_avgpool_job* job = (const adaptive_avgpool_job*)arg;
    const int backward = job->backward;
    const int64_t in_plane = (int64_t)job->in_h * job->in_w;
    const int64_t out_plane = (int64_t)job->out_h * job->out_w;
    for (int64_t plane = begin; plane < end; plane++) {
        const float* src = job->src + plane * (backward ? out_plane : in_plane);
        float* dst = job->dst + plane * (backward ? in_plane : out_plane);
        if (backward && !job->accumulate) memset(dst, 0, (size_t)in_plane * sizeof(float));
        for (int64_t oh = 0; oh < job->out_h; oh++) {
            const int64_t h0 = window_start(oh, job->out_h, job->in_h);
            const int64_t h1 = window_end(oh, job->out_h, job->in_h);
            for (int64_t ow = 0; ow < job->out_w; ow++) {
                const int64_t w0 = window_start(ow, job->out_w, job->in_w);
                const int64_t w1 = window_end(ow, job->out_w, job->in_w);
                const int64_t o = oh * job->out_w + ow;
                if (backward) {
                    const float delta = src[o] / (float)(h1 - h0) / (float)(w1 - w0);
                    for (int64_t ih = h0; ih < h1; ih++)
                        for (int64_t iw = w0; iw < w1; iw++) dst[ih * job->in_w + iw] += delta;
                } else {
                    float sum = 0.0f;
                    for (int64_t ih = h0; ih < h1; ih++)
                        for (int64_t iw = w0; iw < w1; iw++) sum += src[ih * job->in_w + iw];
                    dst[o] = sum / (float)(h1 - h0) / (float)(w1 - w0);
                }
            }
        }
    }
}

/* Planes per chunk: about CNN_PARALLEL_GRAIN_WORK taps (each input is read about
 * ceil(out/in) times per axis, at least once). */
static int64_t plane_grain(int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w) {
    const int64_t h = in_h > out_h ? in_h : out_h, w = in_w > out_w ? in_w : out_w;
    const int64_t g = CNN_PARALLEL_GRAIN_WORK / (h * w);
    return g < 1 ? 1 : g;
}

cnn_status cnn_f32_adaptive_avgpool_scalar(cnn_context* ctx, int64_t planes, int32_t in_height,
                                           int32_t in_width, int32_t out_height,
                                           int32_t out_width, const float* input, float* output) {
    adaptive_avgpool_job job = {in_height, in_width, out_height, out_width, input, output, 0, 0};
    cnn_parallel_for(ctx, planes, plane_grain(in_height, in_width, out_height, out_width),
                     pool_task, &job);
    return CNN_STATUS_SUCCESS;
}

cnn_status cnn_f32_adaptive_avgpool_backward_scalar(cnn_context* ctx, int64_t planes,
                                                    int32_t in_height, int32_t in_width,
                                                    int32_t out_height, int32_t out_width,
                                                    const float* grad_output, float* grad_input,
                                                    int32_t accumulate) {
    adaptive_avgpool_job job = {in_height, in_width, out_height, out_width,
                                grad_output, grad_input, 1, accumulate};
    cnn_parallel_for(ctx, planes, plane_grain(in_height, in_width, out_height, out_width),
                     pool_task, &job);
    return CNN_STATUS_SUCCESS;
}
