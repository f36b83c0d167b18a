/*
 * f32-softmax-scalar.c — reference softmax / log-softmax over the middle axis of
 * [outer, classes, inner]. For each (outer, inner) column x[0..classes):
 *   m = max(x) (NaN if any x is NaN), s = sum exp(x - m)
 *   softmax:     y = exp(x - m) / s
 *   log-softmax: y = (x - m) - log(s)
 * output may alias input (each column is read before its elements are overwritten).
 */
#include <math.h>

#include "ops-common.h"

typedef struct {
    int64_t classes, inner;
    int32_t log_softmax;
    const float* input;
    float* output;
} softmax_job;

static void softmax_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const softmax_job* job = (const softmax_job*)arg;
    const int64_t classes = job->classes, inner = job->inner;
    for (int64_t column = begin; column < end; column++) {
        const int64_t offset = column / inner * classes * inner + column % inner;
        const float* x = job->input + offset;
        float* y = job->output + offset;
        float m = -INFINITY;
        for (int64_t c = 0; c < classes; c++) {
            const float v = x[c * inner];
            if (v > m || isnan(v)) m = v;
        }
        float sum = 0.0f;
        for (int64_t c = 0; c < classes; c++) {
            const float e = expf(x[c * inner] - m);
            if (!job->log_softmax) y[c * inner] = e;
            sum += e;
        }
        if (job->log_softmax) {
            const float log_sum = logf(sum);
            for (int64_t c = 0; c < classes; c++) y[c * inner] = (x[c * inner] - m) - log_sum;
        } else {
            for (int64_t c = 0; c < classes; c++) y[c * inner] /= sum;
        }
    }
}

cnn_status cnn_f32_softmax_scalar(cnn_context* ctx, int32_t outer, int32_t classes, int32_t inner,
                                  int32_t log_softmax, const float* input, float* output) {
    softmax_job job = {classes, inner, log_softmax, input, output};
    const int64_t grain = CNN_PARALLEL_GRAIN_WORK / classes;
    cnn_parallel_for(ctx, (int64_t)outer * inner, grain > 1 ? grain : 1, softmax_task, &job);
    return CNN_STATUS_SUCCESS;
}
