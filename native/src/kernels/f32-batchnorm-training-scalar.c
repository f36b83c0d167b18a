/*
 * f32-batchnorm-training-scalar.c — reference batch norm in training mode (torch 1.13 CPU):
 *   per channel c over m = N*H*W elements, in double:
 *     mean = sum x / m,  var = sum (x - mean)^2 / m    (one pass of shifted sums
 *     S1 = sum (x - K), S2 = sum (x - K)^2 with K = the channel's first element:
 *     mean = K + S1/m, var = (S2 - S1^2/m) / m, clamped at 0)
 *     save_mean = mean, save_invstd = 1 / sqrt(var + eps)   (computed in double, stored float)
 *     running_mean = momentum * mean + (1 - momentum) * running_mean            (double)
 *     running_var  = momentum * var * m/(m-1) + (1 - momentum) * running_var    (unbiased)
 *   y = x * alpha + beta, alpha = save_invstd * weight, beta = bias - save_mean * alpha (float,
 *   torch's batch_norm_cpu_transform_input order).
 * Work items are plane segments (cnn_batchnorm_split); each item's partial sums land in scratch
 * and are combined per channel in item order, so results are the same for any thread count.
 * The driver (cnn_batchnorm_training_run) is shared with the AVX2 kernel through hooks.
 */
#include <math.h>

#include "ops-common.h"

static void stats_scalar(const cnn_batchnorm_train_job* job, const float* x, int64_t n,
                         double shift, double* out2) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)x[i] - shift;
        s1 += d;
        s2 += d * d;
    }
    out2[0] = s1;
    out2[1] = s2;
}

static void normalize_scalar(const float* x, int64_t n, float alpha, float beta, float* y) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * alpha + beta;
}

static void stats_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_batchnorm_train_job* job = (const cnn_batchnorm_train_job*)arg;
    const cnn_batchnorm_train_hooks* hooks = job->hooks;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, n;
        cnn_batchnorm_item(&job->split, job->channels, item, &c, &first, &n);
        hooks->stats(job, job->input + first, n, job->shift[c], job->partial + 2 * item);
    }
}

static void normalize_task(void* arg, int64_t begin, int64_t end, int32_t thread_index) {
    const cnn_batchnorm_train_job* job = (const cnn_batchnorm_train_job*)arg;
    const cnn_batchnorm_train_hooks* hooks = job->hooks;
    for (int64_t item = begin; item < end; item++) {
        int64_t c, first, n;
        cnn_batchnorm_item(&job->split, job->channels, item, &c, &first, &n);
        hooks->normalize(job->input + first, n, job->alpha[c], job->beta[c], job->output + first);
    }
}

void cnn_batchnorm_train_job_init(cnn_batchnorm_train_job* job, const cnn_batch_norm2d_params* p,
                                  const float* input, float* output,
                                  const cnn_batchnorm_train_hooks* hooks, int64_t* grain) {
    const cnn_batchnorm_train_job zero = {0};
    *job = zero;
    job->p = p;
    job->split = cnn_batchnorm_split_of(p, CNN_BATCHNORM_GRAIN_ELEMENTS, grain);
    job->channels = p->channels;
    job->input = input;
    job->output = output;
    job->hooks = hooks;
}

void cnn_batchnorm_channel_sums(const cnn_batchnorm_train_job* job, int64_t c, double* s1,
                                double* s2) {
    const int64_t segments = job->split.segments;
    double a = 0.0, b = 0.0;
    for (int64_t n = 0; n < job->p->batch; n++) {
        const double* part = job->partial + 2 * ((n * job->channels + c) * segments);
        for (int64_t s = 0; s < segments; s++) {
            a += part[2 * s];
            b += part[2 * s + 1];
        }
    }
    *s1 = a;
    *s2 = b;
}

cnn_status cnn_batchnorm_training_run(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                      const float* input, const float* weight, const float* bias,
                                      float momentum, float* running_mean, float* running_var,
                                      float* save_mean, float* save_invstd, float* output,
                                      const cnn_batchnorm_train_hooks* hooks) {
    cnn_batchnorm_train_job job;
    int64_t grain;
    cnn_batchnorm_train_job_init(&job, p, input, output, hooks, &grain);
    const int64_t C = p->channels;
    /* scratch: 2 doubles per item, shift[C] (double), alpha[C], beta[C] (float) */
    const size_t bytes = (size_t)(2 * job.split.items + C) * sizeof(double) +
                         (size_t)(2 * C) * sizeof(float);
    double* scratch = (double*)cnn_context_scratch(ctx, bytes);
    if (scratch == NULL) return CNN_STATUS_OUT_OF_MEMORY;
    job.partial = scratch;
    double* shift = scratch + 2 * job.split.items;
    float* alpha = (float*)(shift + C);
    float* beta = alpha + C;
    const int64_t plane = job.split.plane_size;
    for (int64_t c = 0; c < C; c++) shift[c] = input[c * plane];
    job.shift = shift;
    job.alpha = alpha;
    job.beta = beta;

    cnn_parallel_for(ctx, job.split.items, grain, stats_task, &job);

    const double m = (double)p->batch * (double)plane;
    const double mom = (double)momentum;
    for (int64_t c = 0; c < C; c++) {
        double s1, s2;
        cnn_batchnorm_channel_sums(&job, c, &s1, &s2);
        const double mean = shift[c] + s1 / m;
        double var_sum = s2 - s1 * s1 / m;
        if (var_sum < 0.0) var_sum = 0.0; /* rounding */
        const double invstd = 1.0 / sqrt(var_sum / m + (double)p->epsilon);
        const float mean_f = (float)mean, invstd_f = (float)invstd;
        save_mean[c] = mean_f;
        save_invstd[c] = invstd_f;
        if (running_mean) {
            running_mean[c] = (float)(mom * mean + (1.0 - mom) * (double)running_mean[c]);
            running_var[c] =
                (float)(mom * (var_sum / (m - 1.0)) + (1.0 - mom) * (double)running_var[c]);
        }
        const float a = invstd_f * (weight ? weight[c] : 1.0f);
        alpha[c] = a;
        beta[c] = (bias ? bias[c] : 0.0f) - mean_f * a;
    }

    cnn_parallel_for(ctx, job.split.items, grain, normalize_task, &job);
    return CNN_STATUS_SUCCESS;
}

static const cnn_batchnorm_train_hooks g_scalar_hooks = {stats_scalar, normalize_scalar, NULL,
                                                          NULL};

cnn_status cnn_f32_batchnorm_training_scalar(cnn_context* ctx, const cnn_batch_norm2d_params* p,
                                             const float* input, const float* weight,
                                             const float* bias, float momentum,
                                             float* running_mean, float* running_var,
                                             float* save_mean, float* save_invstd, float* output) {
    return cnn_batchnorm_training_run(ctx, p, input, weight, bias, momentum, running_mean,
                                      running_var, save_mean, save_invstd, output,
                                      &g_scalar_hooks);
}
