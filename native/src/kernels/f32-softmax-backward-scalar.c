/*
 * f32-softmax-backward-scalar.c — reference gradient of softmax / log-softmax over the middle
 * axis of [outer, classes, inner], from the forward output y (torch 1.13's formulas):
 *   softmax:     dx = y * (g - s),        s = sum_c g*y   (summed in double, used as float)
 *   log-softmax: dx = g - exp(y) * s,     s = sum_c g
 * One task item per (outer, inner) column; accumulate = 1 adds to grad_input.
 * The AVX2 kernel (f32-softmax-backward-avx2.c) vectorizes contiguous rows and uses this for inner > 1.
 */
#include <math.h>

#include "ops-common.h"

typedef struct {
    int64_t classes, inner;
    int32_t log_softmax, accumulate;
    const float *y, *g;
    float* gi;
} softmax_backward_job;

static void softmax_backward_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const softmax_backward_job* job = (const softmax_backward_job*)arg;
    const int64_t classes = job->classes, inner = job->inner;
    for (int64_t column = begin; column < end; column++) {
        const int64_t offset = column / inner * classes * inner + column % inner;
        const float* y = job->y + offset;
        const float* g = job->g + offset;
        float* gi = job->gi + offset;
        double acc = 0.0;
        for (int64_t c = 0; c < classes; c++)
            acc += job->log_softmax ? (double)g[c * inner] : (double)g[c * inner] * y[c * inner];
        const float s = (float)acc;
        for (int64_t c = 0; c < classes; c++) {
            const int64_t i = c * inner;
            const float v = job->log_softmax ? g[i] - expf(y[i]) * s : y[i] * (g[i] - s);
            gi[i] = job->accumulate ? gi[i] + v : v;
        }
    }
}

cnn_status cnn_f32_softmax_backward_scalar(cnn_context* ctx, int32_t outer, int32_t classes,
                                           int32_t inner, int32_t log_softmax,
                                           const float* output, const float* grad_output,
                                           int32_t accumulate, float* grad_input) {
    softmax_backward_job job = {classes, inner, log_softmax, accumulate, output, grad_output,
                                grad_input};
    const int64_t grain = CNN_PARALLEL_GRAIN_WORK / classes;
    cnn_parallel_for(ctx, (int64_t)outer * inner, grain > 1 ? grain : 1, softmax_backward_task,
                     &job);
    return CNN_STATUS_SUCCESS;
}
