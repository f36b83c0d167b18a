/*
 * f32-batchnorm-backward-scalar.c — reference batch norm gradient (torch 1.13 CPU formulas).
 * Per channel c over m = N*H*W elements, with the given mean and invstd:
 *   sum_dy = sum dy,  dotp = sum dy * (x - mean)          (double, item partials in order)
 *   grad_weight (=, +=) (float)(dotp * invstd),  grad_bias (=, +=) (float)sum_dy
 *   batch_statistics = 1: k = dotp * invstd^2 / m, grad_mean = sum_dy / m (double -> float),
 *       dx = (dy - grad_mean - (x - mean) * k) * invstd * w       (float, torch's order)
 *     i.e. invstd * w / m * (m*dy - sum(dy) - xhat * sum(dy*xhat)), xhat = (x - mean) * invstd;
 *   batch_statistics = 0 (mean/invstd are constants): dx = dy * invstd * w.
 * The sums are skipped when nothing needs them (batch_statistics = 0 and no weight/bias grads).
 */
#include <math.h>

#include "ops-common.h"

static void grad_stats_scalar(const float* x, const float* dy, int64_t n, float mean,
                              double* out2) {
    double s = 0.0, d = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += dy[i];
        d += (double)dy[i] * ((double)x[i] - (double)mean);
    }
    out2[0] = s;
    out2[1] = d;
}

static void grad_input_scalar(const cnn_batchnorm_train_job* job, const float* x, const float* dy,
                              int64_t n, int64_t c, float* dx) {
    const float invstd = job->scale_a[c], w = job->scale_b[c];
    if (job->batch_statistics) {
        const float mean = job->mean[c], k = job->k[c], gm = job->grad_mean[c];
        for (int64_t i = 0; i < n; i++) {
            const float v = (dy[i] - gm - (x[i] - mean) * k) * invstd * w;
            dx[i] = job->accumulate ? dx[i] + v : v;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            const float v = dy[i] * invstd * w;
            dx[i] = job->accumulate ? dx[i] + v : v;
        }
    }
}

static void grad_stats_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_batchnorm_train_job* job = (const cnn_batchnorm_train_job*)arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, n;
        cnn_batchnorm_item(&job->split, job->channels, item, &c, &first, &n);
        job->hooks->grad_stats(job->input + first, job->grad_output + first, n, job->mean[c],
                               job->partial + 2 * item);
    }
}

static void grad_input_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_batchnorm_train_job* job = (const cnn_batchnorm_train_job*)arg;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, n;
        cnn_batchnorm_item(&job->split, job->channels, item, &c, &first, &n);
        job->hooks->grad_input(job, job->input + first, job->grad_output + first, n, c,
                               job->output + first);
    }
}

cnn_status cnn_batchnorm_backward_run(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                      const float* input, const float* grad_output,
                                      const float* weight, const float* mean, const float* invstd,
                                      int32_t batch_statistics, int32_t accumulate,
                                      float* grad_input, float* grad_weight, float* grad_bias,
                                      const cnn_batchnorm_train_hooks* hooks) {
    cnn_batchnorm_train_job job;
    int64_t grain;
    cnn_batchnorm_train_job_init(&job, p, input, grad_input, hooks, &grain);
    job.grad_output = grad_output;
    job.accumulate = accumulate;
    job.batch_statistics = batch_statistics;
    job.mean = mean;
    job.scale_a = invstd;
    const int64_t C = p->channels;
    const int need_sums = batch_statistics || grad_weight != NULL || grad_bias != NULL;
    /* scratch: 2 doubles per item (if summing), then k[C], grad_mean[C], w[C] floats */
    const size_t bytes = (size_t)(need_sums ? 2 * job.split.items : 0) * sizeof(double) +
                         (size_t)(3 * C) * sizeof(float);
    double* scratch = (double*)cnn_context_scratch(ctx, bytes);
    if (scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    job.partial = scratch;
    float* k = (float*)(scratch + (need_sums ? 2 * job.split.items : 0));
    float* grad_mean = k + C;
    float* w = grad_mean + C;
    job.k = k;
    job.grad_mean = grad_mean;
    job.scale_b = w;
    for (int64_t c = 0; c < C; c++) w[c] = weight ? weight[c] : 1.0f;

    if (need_sums) {
        cnn_parallel_for(ctx, job.split.items, grain, grad_stats_task, &job);
        const double m = (double)p->batch * (double)job.split.plane_size;
        for (int64_t c = 0; c < C; c++) {
            double sum, dotp;
            cnn_batchnorm_channel_sums(&job, c, &sum, &dotp);
            const double is = (double)invstd[c];
            k[c] = (float)(dotp * is * is / m);
            grad_mean[c] = (float)(sum / m);
            if (grad_weight) {
                const float gw = (float)(dotp * is);
                grad_weight[c] = accumulate ? grad_weight[c] + gw : gw;
            }
            if (grad_bias) {
                const float gb = (float)sum;
                grad_bias[c] = accumulate ? grad_bias[c] + gb : gb;
            }
        }
    }
    cnn_parallel_for(ctx, job.split.items, grain, grad_input_task, &job);
    return CNN_STATUS_SUCCESS;
}

static const cnn_batchnorm_train_hooks g_scalar_hooks = {NULL, NULL, grad_stats_scalar,
                                                          grad_input_scalar};

cnn_status cnn_f32_batchnorm_backward_scalar(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                             const float* input, const float* grad_output,
                                             const float* weight, const float* mean,
                                             const float* invstd, int32_t batch_statistics,
                                             int32_t accumulate, float* grad_input,
                                             float* grad_weight, float* grad_bias) {
    return cnn_batchnorm_backward_run(ctx, p, input, grad_output, weight, mean, invstd,
                                      batch_statistics, accumulate, grad_input, grad_weight,
                                      grad_bias, &g_scalar_hooks);
}
