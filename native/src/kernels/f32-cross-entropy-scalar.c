/*
 * f32-cross-entropy-scalar.c — reference softmax cross-entropy, mean over the batch, with
 * label smoothing s exactly as torch's F.cross_entropy(label_smoothing=s):
 *   lse_i  = m_i + log(sum_c exp(x_ic - m_i))              (double, m_i = row max)
 *   loss   = mean_i [ (1 - s) * (lse_i - x_i,y_i) + (s / C) * sum_c (lse_i - x_ic) ]
 *   dx_ic  = (softmax_ic - ((1 - s) * [c == y_i] + s / C)) / batch
 * Per-row losses go to scratch and are summed in row order (same result for any thread count).
 * Labels are validated by the op. (The AVX2 table points here: exp dominates and the op is a
 * small share of a training step.)
 */
#include <math.h>

#include "ops-common.h"

typedef struct {
    int64_t classes;
    double batch;
    double smoothing;
    const float* x;
    const int32_t* labels;
    float* grad;
    double* row_loss;
} cross_entropy_job;

static void cross_entropy_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cross_entropy_job* job = (const cross_entropy_job*)arg;
    const int64_t n = job->classes;
    const double s = job->smoothing;
    for (int64_t row = begin; row < end; row++) {
        const float* x = job->x + row * n;
        double m = -INFINITY;
        for (int64_t c = 0; c < n; c++)
            if (x[c] > m || isnan(x[c])) m = x[c];
        double sum = 0.0, sum_x = 0.0;
        for (int64_t c = 0; c < n; c++) {
            sum += exp((double)x[c] - m);
            sum_x += x[c];
        }
        const double lse = m + log(sum);
        const int32_t label = job->labels[row];
        double loss = (1.0 - s) * (lse - x[label]);
        if (s > 0.0) loss += s / (double)n * ((double)n * lse - sum_x);
        job->row_loss[row] = loss;
        if (job->grad) {
            float* g = job->grad + row * n;
            const double off = s / (double)n;
            for (int64_t c = 0; c < n; c++) {
                const double target = (c == label ? 1.0 - s : 0.0) + off;
                g[c] = (float)((exp((double)x[c] - lse) - target) / job->batch);
            }
        }
    }
}

cnn_status cnn_f32_cross_entropy_scalar(cnn_context* ctx, int32_t batch, int32_t classes,
                                        const float* logits, const int32_t* labels,
                                        float label_smoothing, float* out_loss,
                                        float* grad_logits) {
    double* row_loss = (double*)cnn_context_scratch(ctx, (size_t)batch * sizeof(double));
    if (row_loss == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    cross_entropy_job job = {classes,     (double)batch, (double)label_smoothing, logits,
                             labels,      grad_logits,   row_loss};
    const int64_t grain = CNN_PARALLEL_GRAIN_WORK / (4 * (int64_t)classes);
    cnn_parallel_for(ctx, batch, grain > 1 ? grain : 1, cross_entropy_task, &job);
    double total = 0.0;
    for (int32_t i = 0; i < batch; i++) total += row_loss[i];
    *out_loss = (float)(total / (double)batch);
    return CNN_STATUS_SUCCESS;
}
